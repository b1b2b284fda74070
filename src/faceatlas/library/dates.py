"""When a photo was taken, and how we know.

Sources, in order of trust (the first that gives a valid date wins):

1. ``exif``: EXIF ``DateTimeOriginal`` (then ``DateTimeDigitized``), with
   ``OffsetTimeOriginal`` when present;
2. ``xmp``: the XMP packet's ``exif:DateTimeOriginal``, ``photoshop:DateCreated`` or
   ``xmp:CreateDate`` (attribute or element form);
3. ``filename``: a date in the file name, as cameras, phones and messengers write it:
   ``IMG_20190412_101112.jpg``, ``PXL_20190412_101112345.jpg``, ``2019-04-12 10.11.12.jpg``,
   ``20190412_101112.jpg``, ``IMG-20190412-WA0001.jpg``, ``Screenshot 2019-04-12 at ...``;
4. ``mtime``: the file's modification time, an *estimate* (copies and downloads reset
   it); relations report these apart and can leave them out.

Times are local wall-clock times, ``YYYY-MM-DDTHH:MM:SS``, with ``+HH:MM`` appended when
the offset is known (EXIF ``OffsetTimeOriginal``, XMP). Dates before 1990 or more than a
day in the future are not believed.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from PIL import Image

from ..store.base import DateSource

#: Every value of ``images.taken_at_source``, most trusted first.
DATE_SOURCES: tuple[DateSource, ...] = ("exif", "xmp", "filename", "mtime")

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 36867, 36868
_OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 36881, 36882
_EARLIEST = datetime(1990, 1, 1)

_XMP_START, _XMP_END = b"<x:xmpmeta", b"</x:xmpmeta>"
#: Bytes of a file searched for an XMP packet (it sits near the start in JPEG, PNG,
#: WebP, TIFF and HEIF written by cameras and editors).
XMP_SEARCH_BYTES = 1 << 20
_XMP_TAGS = ("exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
                  r"\s*(Z|[+-]\d{2}:?\d{2})?")

_NAME = re.compile(
    r"(?<!\d)((?:19|20)\d{2})([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])"
    r"(?:(?:[ _T-]|\s?at\s?)?([01]\d|2[0-3])[-_.:h]?([0-5]\d)[-_.:m]?([0-5]\d)|(?!\d))")


def exif_date(exif: Image.Exif) -> str | None:
    """``DateTimeOriginal`` (else ``DateTimeDigitized``) with its offset, if valid."""
    ifd = exif.get_ifd(_EXIF_IFD)
    for tag, offset_tag in ((_DATETIME_ORIGINAL, _OFFSET_ORIGINAL),
                            (_DATETIME_DIGITIZED, _OFFSET_DIGITIZED)):
        value = ifd.get(tag)
        if not isinstance(value, str):
            continue
        try:
            when = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        if _plausible(when):
            return when.isoformat() + _offset(ifd.get(offset_tag))
    return None


def xmp_date(data: bytes) -> str | None:
    """The capture date of the XMP packet in the first :data:`XMP_SEARCH_BYTES` of a file."""
    head = data[:XMP_SEARCH_BYTES]
    start = head.find(_XMP_START)
    if start < 0:
        return None
    end = head.find(_XMP_END, start)
    packet = head[start:end if end > 0 else start + 65536].decode("utf-8", "replace")
    for tag in _XMP_TAGS:
        m = re.search(re.escape(tag) + r'\s*=\s*"([^"]+)"', packet) or re.search(
            "<" + re.escape(tag) + r">\s*([^<]+?)\s*</", packet)
        if m:
            parsed = parse_iso(m.group(1))
            if parsed is not None:
                return parsed
    return None


def parse_iso(text: str) -> str | None:
    """An ISO-8601 date or date-time (XMP style, offset optional) as stored, or ``None``."""
    m = _ISO.fullmatch(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, sec, tz = m.groups()
    try:
        when = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    except ValueError:
        return None
    if not _plausible(when):
        return None
    return when.isoformat() + _offset(tz)


def filename_date(path: str) -> str | None:
    """A date (and time, when written) found in a file name, or ``None``."""
    name = os.path.basename(path)
    for m in _NAME.finditer(name):
        y, _, mo, d, h, mi, sec = m.groups()
        try:
            when = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
        except ValueError:
            continue
        if _plausible(when):
            return when.isoformat()
    return None


def mtime_date(mtime_ns: int) -> str:
    """The file time as a local date-time (an estimate of when the photo was taken)."""
    return datetime.fromtimestamp(mtime_ns / 1e9).isoformat(timespec="seconds")


def photo_date(data: bytes, path: str, mtime_ns: int,
               exif: Image.Exif | None) -> tuple[str, DateSource]:
    """``(taken_at, source)`` from the first source that gives a date (see the module)."""
    if exif is not None:
        try:
            found = exif_date(exif)
        except Exception:  # noqa: BLE001 - a malformed EXIF block gives no date
            found = None
        if found:
            return found, "exif"
    found = xmp_date(data)
    if found:
        return found, "xmp"
    found = filename_date(path)
    if found:
        return found, "filename"
    return mtime_date(mtime_ns), "mtime"


def _plausible(when: datetime) -> bool:
    return _EARLIEST <= when <= datetime.now() + timedelta(days=1)


def _offset(value: object) -> str:
    """``+HH:MM`` from an EXIF/XMP offset (``+02:00``, ``-0530``, ``Z``), else ``""``."""
    if not isinstance(value, str):
        return ""
    text = value.strip("\x00 ")
    if text == "Z":
        return "+00:00"
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if not m or int(m.group(2)) > 14 or int(m.group(3)) > 59:
        return ""
    return f"{m.group(1)}{m.group(2)}:{m.group(3)}"
