//! Exact ratios for published figures: every percentage wuye shows is computed here, from
//! integers, rounded half away from zero to two decimals.

/// `part / whole` in percent, two decimals; `None` when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Option<String> {
    if whole == 0 {
        return None;
    }
    Some(fmt_hundredths(div_round(
        i128::from(part) * 10_000,
        i128::from(whole),
    )))
}

/// Change from `previous` to `current` in percent, with its sign ("-43.25" for 2,918 → 1,656);
/// `None` when `previous` is 0.
pub fn change_percent(previous: i64, current: i64) -> Option<String> {
    if previous == 0 {
        return None;
    }
    let delta = i128::from(current) - i128::from(previous);
    Some(fmt_hundredths(div_round(delta * 10_000, i128::from(previous))))
}

/// Integer division rounded half away from zero.
fn div_round(num: i128, den: i128) -> i128 {
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    if num >= 0 {
        (2 * num + den) / (2 * den)
    } else {
        -((2 * -num + den) / (2 * den))
    }
}

fn fmt_hundredths(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_figures() {
        // Urumqi: monthly complaints 2,918 (January) → 1,656 (July).
        assert_eq!(change_percent(2918, 1656).as_deref(), Some("-43.25"));
        // Taizhou: coverage 72.2% → 85.8% of 1,043 compounds.
        assert_eq!(percent(895, 1043).as_deref(), Some("85.81"));
        assert_eq!(change_percent(100, 150).as_deref(), Some("50.00"));
        assert_eq!(percent(1, 3).as_deref(), Some("33.33"));
        assert_eq!(percent(2, 3).as_deref(), Some("66.67"));
        assert_eq!(percent(1, 8).as_deref(), Some("12.50"));
        assert_eq!(change_percent(8, 7).as_deref(), Some("-12.50"));
        assert_eq!(percent(0, 0), None);
        assert_eq!(change_percent(0, 5), None);
    }
}
