"""Personal data masked in tables: phones always, names unless shown with authorisation."""

import pandas as pd
import pytest

from geo.io.personal import mask_name, mask_personal, mask_phone


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812341234", "138****1234"),
        (13812341234.0, "138****1234"),
        ("138-1234-1234", "138****1234"),
        ("5551234", "*****34"),
        ("", ""),
        (None, ""),
        (float("nan"), ""),
        ("无", ""),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"), [("张三", "张*"), ("欧阳修文", "欧***"), ("李", "李*"), ("", ""), (None, "")]
)
def test_mask_name(value, masked):
    assert mask_name(value) == masked


def test_mask_personal_masks_names_by_default_and_phones_always():
    frame = pd.DataFrame({"姓名": ["张三"], "联系电话": ["13812341234"], "网格编码": ["001"]})
    masked = mask_personal(frame)
    assert masked.iloc[0].tolist() == ["张*", "138****1234", "001"]
    shown = mask_personal(frame, show_personal=True)
    assert shown.iloc[0].tolist() == ["张三", "138****1234", "001"]
    assert frame.iloc[0, 0] == "张三"  # the input is not changed
