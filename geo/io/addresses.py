"""Names and addresses as they are matched: compounds (小区), buildings (楼栋) and home addresses.

Full-width digits and letters, spaces and punctuation never matter; nor do the 小区/花园/苑/家园/
公寓 suffix variants of a compound's name, the province/city/county/town prefixes of an address,
or how a building is written (3号楼, 3幢, 3座, 3栋).  Used to place roster rows, grid lists and
special-group records at the compounds of a ledger.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo.io.search import normalise

__all__ = ["ADDRESS_COLUMNS", "AddressIndex", "address_key", "building_key", "compound_key"]

_SUFFIXES = re.compile(r"(小区|花园|苑|家园|公寓|社区)$")
_PHASE = re.compile(r"(小区|花园|苑|家园|公寓)(?=[\d一二三四五六七八九十]+期$)")


def compound_key(name: object) -> str:
    """A compound name as it is matched: normalised, without a trailing 小区/花园/苑/家园/公寓
    (also before a phase: 雄石花园1期 and 雄石小区一期 -> 雄石1期 / 雄石一期)."""
    key = _PHASE.sub("", normalise(name))
    while True:
        stripped = _SUFFIXES.sub("", key)
        if stripped == key or not stripped:
            return key
        key = stripped


#: Leading administrative names an address may or may not carry, stripped in this order
#: (province, prefecture city, county/district, town/subdistrict); 小区/社区/园区 are not districts.
_PREFIXES = (
    re.compile(r"^中国"),
    re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:省|自治区)"),
    re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:市|自治州|地区|盟)"),
    re.compile(r"^[\u4e00-\u9fff]{1,7}?(?<![小社园景校厂])(?:县|区|旗|市)"),
    re.compile(r"^[\u4e00-\u9fff]{1,7}?(?:镇|乡|街道)(?![路街巷])"),
)
_BUILDING = re.compile(r"(\d+)(?:号楼|号栋|号幢|栋|幢|座|楼)")
_NOISE = re.compile(r"[()（）\[\]【】,，、。·.#＃:：;；\-－—_/]")
_SUFFIX_ANYWHERE = re.compile(r"(小区|花园|苑|家园|公寓)")


def address_key(address: object) -> str:
    """An address as it is matched: full-width digits and letters made ASCII, white space and
    punctuation dropped, the province/city/county/town prefixes stripped, and 3号楼/3幢/3座 all
    written 3栋 (``"福建省泉州市惠安县螺城镇建设路８８号阳光花园3号楼"`` -> ``"建设路88号阳光花园3栋"``)."""
    if address is None or (isinstance(address, float) and address != address):
        return ""
    key = _NOISE.sub("", normalise(address))
    for prefix in _PREFIXES:
        stripped = prefix.sub("", key, count=1)
        if len(stripped) >= 2:  # never strip a whole address away
            key = stripped
    return _BUILDING.sub(r"\1栋", key)


def building_key(name: object) -> str:
    """A building as it is matched: :func:`address_key` without the 小区/花园/苑 words anywhere
    (``"阳光花园3号楼"`` and ``"阳光小区 3幢"`` both give ``"阳光3栋"``)."""
    return _SUFFIX_ANYWHERE.sub("", address_key(name))


#: Columns of a compound ledger holding its address.
ADDRESS_COLUMNS = ("address", "地址", "小区地址", "详细地址", "坐落", "坐落地址", "门牌地址")
_SUFFIX_WORDS = ("小区", "花园", "苑", "家园", "公寓")


class AddressIndex:
    """Compounds found in a home address: by a compound's name (any 小区/花园/苑 variant) in the
    address, else by the ledger's address being the start of it (the longest such)."""

    def __init__(self, names: np.ndarray, compounds: pd.DataFrame, keys: np.ndarray):
        variants: dict[str, set[int]] = {}
        for k, (name, key) in enumerate(zip(names, keys, strict=True)):
            if len(key) < 2:
                continue
            stem, phase = re.match(r"^(.*?)([\d一二三四五六七八九十]+期)?$", key).groups()  # type: ignore[union-attr]
            for v in {address_key(name), *(f"{stem}{w}{phase or ''}" for w in _SUFFIX_WORDS)}:
                variants.setdefault(v, set()).add(k)
        self.variants = {v: sorted(ks) for v, ks in variants.items()}
        alternation = "|".join(re.escape(v) for v in sorted(self.variants, key=len, reverse=True))
        self.pattern = re.compile(alternation) if alternation else None
        column = next((c for c in ADDRESS_COLUMNS if c in compounds.columns), None)
        self.addresses: dict[str, list[int]] = {}
        if column is not None:
            for k, text in enumerate(compounds[column].to_numpy()):
                key = address_key(text)
                if len(key) >= 4:
                    self.addresses.setdefault(key, []).append(k)

    def find(self, address: object) -> list[int]:
        """Indices of the compounds an address names (several when the name is shared), or ``[]``."""
        key = address_key(address)
        hit = self.pattern.search(key) if self.pattern is not None else None
        if hit:
            return self.variants[hit.group(0)]
        for end in range(len(key), 3, -1):
            if key[:end] in self.addresses:
                return self.addresses[key[:end]]
        return []
