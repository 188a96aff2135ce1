//! Deploy windows: when merges into a stage may happen. A window is days of the week and
//! an hour range in a time zone (`{ days: mon-fri, hours: "09:00-16:00", tz:
//! Europe/Berlin }`); outside every window a merge waits for the next one to open. The
//! clock is the store's; the rules are the config's.

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

/// A window, parsed from the config and checked when it is loaded.
#[derive(Debug, Clone)]
pub struct Window {
    days: Vec<Weekday>,
    /// Minutes after midnight, start inclusive, end exclusive.
    start: i32,
    end: i32,
    tz: TimeZone,
    /// As written, for what the check says.
    pub text: String,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

fn day(name: &str) -> Result<Weekday, String> {
    DAYS.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("{name:?} is not a day: write mon, tue, wed, thu, fri, sat or sun"))
}

fn minutes(hm: &str) -> Result<i32, String> {
    let bad = || format!("{hm:?} is not a time: write it as HH:MM, 00:00 to 24:00");
    let (h, m) = hm.trim().split_once(':').ok_or_else(bad)?;
    let two = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two(h) || !two(m) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl Window {
    /// `days` (`mon-fri`, `sat,sun`, `mon-wed,fri`), `hours` (`09:00-16:00`, the end
    /// after the start) and `tz` (an IANA name); the error says which is wrong and how.
    pub fn parse(days: &str, hours: &str, tz: &str) -> Result<Window, String> {
        let mut set = vec![];
        for part in days.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (
                        day(a)?.to_monday_one_offset(),
                        day(b)?.to_monday_one_offset(),
                    );
                    // A range may wrap the week: fri-mon.
                    let mut d = a;
                    loop {
                        set.push(DAYS[(d - 1) as usize].1);
                        if d == b {
                            break;
                        }
                        d = d % 7 + 1;
                    }
                }
                None => set.push(day(part)?),
            }
        }
        let (s, e) = hours
            .split_once('-')
            .ok_or_else(|| format!("{hours:?} is not an hour range: write it as 09:00-16:00"))?;
        let (start, end) = (minutes(s)?, minutes(e)?);
        if end <= start {
            return Err(format!(
                "{hours:?} ends before it starts: a window is within one day (use two for one across midnight)"
            ));
        }
        let zone = TimeZone::get(tz).map_err(|_| {
            format!("{tz:?} is not a time zone: write an IANA name such as Europe/Berlin or UTC")
        })?;
        Ok(Window {
            days: set,
            start,
            end,
            tz: zone,
            text: format!("{days} {hours} {tz}"),
        })
    }

    /// The instant this window opens on `date` (its own time zone's date), if it opens
    /// that day.
    fn opens_on(&self, date: Date) -> Option<i64> {
        if !self.days.contains(&date.weekday()) {
            return None;
        }
        let dt = date.at((self.start / 60) as i8, (self.start % 60) as i8, 0, 0);
        Some(
            dt.to_zoned_datetime(self.tz.clone())
                .ok()?
                .timestamp()
                .as_millisecond(),
        )
    }
}

/// Whether `now` (ms since the epoch) is inside one of `windows`: `Ok(())`, or the
/// instant the next one opens (`None` when none opens within a fortnight).
pub fn check(windows: &[Window], now: i64) -> Result<(), Option<i64>> {
    if windows.is_empty() {
        return Ok(());
    }
    let Ok(ts) = Timestamp::from_millisecond(now) else {
        return Err(None);
    };
    // Inside is judged by the wall clock in each window's zone (across a daylight
    // saving change, 02:30 is what a clock there shows); instants only say when the
    // next one opens.
    for w in windows {
        let local = ts.to_zoned_datetime(w.tz.clone());
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        if w.days.contains(&local.weekday()) && w.start <= minute && minute < w.end {
            return Ok(());
        }
    }
    let mut next: Option<i64> = None;
    for w in windows {
        let mut date = ts.to_zoned_datetime(w.tz.clone()).date();
        // From the day before (a window ending after midnight UTC), a fortnight on.
        if let Ok(d) = date.yesterday() {
            date = d;
        }
        for _ in 0..16 {
            if let Some(open) = w.opens_on(date)
                && open > now
                && next.is_none_or(|n| open < n)
            {
                next = Some(open);
            }
            let Ok(d) = date.tomorrow() else { break };
            date = d;
        }
    }
    Err(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc: &str) -> i64 {
        rfc.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn when(ms: i64) -> String {
        Timestamp::from_millisecond(ms).unwrap().to_string()
    }

    /// Weekdays 09:00-16:00 in Berlin (UTC+1 in winter): inside on a Thursday morning,
    /// outside on Friday evening until Monday 08:00 UTC; a bad day, hour or zone is
    /// named.
    #[test]
    fn a_window_opens_on_its_days_and_hours_in_its_zone() {
        let w = [Window::parse("mon-fri", "09:00-16:00", "Europe/Berlin").unwrap()];
        assert_eq!(check(&w, at("2026-11-26T10:00:00Z")), Ok(()));
        let next = check(&w, at("2026-11-27T17:00:00Z")).unwrap_err().unwrap();
        assert_eq!(when(next), "2026-11-30T08:00:00Z");
        let wrap = [Window::parse("fri-mon", "00:00-24:00", "UTC").unwrap()];
        assert_eq!(check(&wrap, at("2026-11-29T23:59:00Z")), Ok(()));
        assert_eq!(
            when(
                check(&wrap, at("2026-11-25T12:00:00Z"))
                    .unwrap_err()
                    .unwrap()
            ),
            "2026-11-27T00:00:00Z"
        );
        // Berlin springs forward at 02:00 on 2027-03-28: at 01:15 UTC its clocks show
        // 03:15, outside a window that ends at 02:30.
        let night = [Window::parse("sun", "00:00-02:30", "Europe/Berlin").unwrap()];
        assert_eq!(check(&night, at("2027-03-28T00:30:00Z")), Ok(()));
        assert!(check(&night, at("2027-03-28T01:15:00Z")).is_err());
        let errs: Vec<String> = [
            ("mon-fry", "09:00-16:00", "UTC"),
            ("mon", "16:00-09:00", "UTC"),
            ("mon", "9-16", "UTC"),
            ("mon", "9:05-16:00", "UTC"),
            ("mon", "09:00-16:00", "Mars/Olympus"),
        ]
        .iter()
        .map(|(d, h, z)| Window::parse(d, h, z).unwrap_err())
        .collect();
        insta::assert_snapshot!(errs.join("\n"), @r#"
        "fry" is not a day: write mon, tue, wed, thu, fri, sat or sun
        "16:00-09:00" ends before it starts: a window is within one day (use two for one across midnight)
        "9" is not a time: write it as HH:MM, 00:00 to 24:00
        "9:05" is not a time: write it as HH:MM, 00:00 to 24:00
        "Mars/Olympus" is not a time zone: write an IANA name such as Europe/Berlin or UTC
        "#);
    }
}
