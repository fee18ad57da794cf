//! UTC calendar formatting of Unix milliseconds (ISO-8601 with milliseconds and `Z`).

const MS_PER_DAY: u64 = 86_400_000;

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, for years 1970..=9999.
pub(crate) fn iso8601_utc(unix_ms: u64) -> [u8; 24] {
    let (year, month, day) = civil_date(unix_ms / MS_PER_DAY);
    let ms_of_day = unix_ms % MS_PER_DAY;
    let mut out = *b"0000-00-00T00:00:00.000Z";
    write_digits(&mut out[0..4], u64::from(year));
    write_digits(&mut out[5..7], u64::from(month));
    write_digits(&mut out[8..10], u64::from(day));
    write_digits(&mut out[11..13], ms_of_day / 3_600_000);
    write_digits(&mut out[14..16], ms_of_day / 60_000 % 60);
    write_digits(&mut out[17..19], ms_of_day / 1_000 % 60);
    write_digits(&mut out[20..23], ms_of_day % 1_000);
    out
}

pub(crate) fn utc_year(unix_ms: u64) -> u32 {
    civil_date(unix_ms / MS_PER_DAY).0
}

/// `YYMM` of the UTC date, as ASCII digits.
pub(crate) fn utc_year_month(unix_ms: u64) -> [u8; 4] {
    let iso = iso8601_utc(unix_ms);
    [iso[2], iso[3], iso[5], iso[6]]
}

fn write_digits(slot: &mut [u8], mut value: u64) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// (year, month 1..=12, day 1..=31) of a day counted from 1970-01-01.
///
/// Counts in 400-year cycles of 146,097 days whose years start on 1 March, so the leap day
/// is the last day of a cycle year and month lengths repeat in a 5-month 153-day pattern.
fn civil_date(days_since_epoch: u64) -> (u32, u32, u32) {
    const DAYS_0000_03_01_TO_EPOCH: u64 = 719_468;
    let days = days_since_epoch + DAYS_0000_03_01_TO_EPOCH;
    let cycle = days / 146_097;
    let day_of_cycle = days % 146_097;
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524 - day_of_cycle / 146_096) / 365;
    let day_of_year = day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = cycle * 400 + year_of_cycle + u64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn iso(ms: u64) -> String {
        String::from_utf8(iso8601_utc(ms).to_vec()).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(iso(1_735_689_600_123), "2025-01-01T00:00:00.123Z");
        assert_eq!(utc_year(1_735_689_599_999), 2024);
        assert_eq!(&utc_year_month(1_735_689_599_999), b"2412");
        assert_eq!(&utc_year_month(1_735_689_600_000), b"2501");
    }

    #[test]
    fn agrees_with_httpdate_day_by_day() {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        for day in (0..60_000u64).step_by(7) {
            let ms = day * MS_PER_DAY + 45_296_789;
            let http = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms));
            let ours = iso(ms);
            let month = MONTHS.iter().position(|m| http[8..11] == **m).unwrap() + 1;
            let expected = format!("{}-{:02}-{}T{}.789Z", &http[12..16], month, &http[5..7], &http[17..25]);
            assert_eq!(ours, expected, "{http}");
        }
    }
}
