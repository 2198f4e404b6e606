"""time: the time of day, weekday, day of month and date the packet arrives (libxt_time).

    -m time --timestart 08:00 --timestop 18:00 --weekdays Mon,Tue,Wed,Thu,Fri -j ACCEPT
    -m time --timestart 22:00 --timestop 06:00 --contiguous --kerneltz -j DROP

`--timestart`/`--timestop` are `hh:mm[:ss]`; `--datestart`/`--datestop` are
`YYYY[-MM[-DD[Thh[:mm[:ss]]]]]` (1970-2038); `--weekdays` (Mon-Sun or 1-7) and
`--monthdays` (1-31) are comma lists and may be negated.  Times are UTC unless
`--kerneltz` (formerly `--localtz`).  `--contiguous` needs a stop time before the start time.
"""

from __future__ import annotations

import datetime
import re

from iptlint.extensions.spec import Extension, opt

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LEADING_NUMBER = re.compile(r"\s*[+]?([0-9]*)")
_C_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")
_DATE_PARTS = (("year", "-", 1970, 2038), ("month", "-", 0, 12), ("day", "T", 0, 31),
               ("hour", ":", 0, 23), ("minute", ":", 0, 59), ("second", "", 0, 59))  # fmt: skip
_BAD_DATE = "date {!r} is not YYYY[-MM[-DD[Thh[:mm[:ss]]]]] within 1970-2038"


def _leading_number(text: str) -> tuple[int, str]:
    """strtoul(text, &end, 10): the number at the start (0 if none) and the rest."""
    found = _LEADING_NUMBER.match(text)
    digits = found.group(1)
    if not digits:
        return 0, text
    return int(digits), text[found.end() :]


def date(text: str, family) -> datetime.datetime:
    """A date as time_parse_date reads it, in UTC; missing parts default to the start."""
    values = {"year": 0, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
    rest = text
    for name, separator, lo, hi in _DATE_PARTS:
        number, rest = _leading_number(rest)
        if not lo <= number <= hi or rest[:1] not in (separator, "") or (not separator and rest):
            raise ValueError(_BAD_DATE.format(text))
        values[name] = number
        if not rest:
            break
        rest = rest[1:]
    # mktime() normalises month 0 and day 0 to the end of the previous month or year.
    start = datetime.datetime(values["year"], 1, 1, tzinfo=datetime.UTC)
    month_start = _add_months(start, values["month"] - 1)
    return month_start + datetime.timedelta(
        days=values["day"] - 1, hours=values["hour"], minutes=values["minute"], seconds=values["second"]
    )


def _add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    return moment.replace(year=moment.year + year, month=month + 1)


def daytime(text: str, family) -> int:
    """`hh:mm[:ss]` as time_parse_minutes reads it: seconds since midnight."""
    hour, rest = _leading_number(text)
    if not rest.startswith(":") or hour > 23:
        raise ValueError(f"time {text!r} is not hh:mm[:ss] within 00:00:00-23:59:59")
    minute, rest = _leading_number(rest[1:])
    second = 0
    if rest.startswith(":"):
        second, rest = _leading_number(rest[1:])
    if rest or minute > 59 or second > 59:
        raise ValueError(f"time {text!r} is not hh:mm[:ss] within 00:00:00-23:59:59")
    return 3600 * hour + 60 * minute + second


def _segments(text: str, width: int) -> list[str]:
    """The items of a comma list as my_strseg cuts them: at most `width` characters, no trailing empty one."""
    items = text.split(",")
    if items[-1] == "":
        items.pop()
    return [item[:width] for item in items]


def _c_number(text: str) -> tuple[int, str]:
    """strtoul(text, &end, 0): the decimal, 0x hex or 0 octal number at the start (0 if none) and the rest."""
    found = _C_NUMBER.match(text)
    if found is None:
        return 0, text
    digits = found.group()
    octal = len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX"
    return int(digits, 8 if octal else 0), text[found.end() :]


def monthdays(text: str, family) -> frozenset[int]:
    """Days of the month as time_parse_monthdays reads them (it lets 0 and empty items through)."""
    days = set()
    for item in _segments(text, 2):
        day, rest = _c_number(item)
        if rest or day > 31:
            raise ValueError(f"{item!r} is not a valid day of the month (1-31)")
        days.add(day)
    return frozenset(days)


def weekdays(text: str, family) -> frozenset[int]:
    """Days 1 (Monday) to 7 (Sunday), by number or by the first two letters of their name."""
    days = set()
    for item in _segments(text, 3):
        number, rest = _c_number(item)
        if not rest:
            if number == 0:
                raise ValueError("weekday 0 does not exist: the week begins with Mon (1)")
            days.add(number)
            continue
        named = [index for index, name in enumerate(WEEKDAYS, 1) if item[:2] == name[:2]]
        if not named:
            raise ValueError(f"{item!r} is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun or 1-7)")
        days.update(named)
    return frozenset(days)


def _contiguous_needs_overnight(options, family, protocol) -> list[str]:
    if "--contiguous" not in options:
        return []
    start = options["--timestart"].value if "--timestart" in options else 0
    stop = options["--timestop"].value if "--timestop" in options else 86399
    if start < stop:
        return ["--contiguous only makes sense when --timestop is before --timestart"]
    return []


EXTENSION = Extension(
    name="time",
    kind="match",
    summary="time of day, weekday and date",
    options=(
        opt("--timestart", daytime),
        opt("--timestop", daytime),
        opt("--monthdays", monthdays, invert=True),
        opt("--weekdays", weekdays, invert=True),
        opt("--datestart", date),
        opt("--datestop", date),
        opt("--kerneltz", excludes=("--utc",)),
        opt("--localtz", excludes=("--utc",)),  # the old name of --kerneltz; saved as that
        opt("--utc", excludes=("--kerneltz", "--localtz")),
        opt("--contiguous"),
    ),
    check=_contiguous_needs_overnight,
)
