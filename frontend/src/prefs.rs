//! The tablet's own preferences (not the transmitter's settings), kept in
//! localStorage as one short line so a reload keeps them.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// Follow the system's `prefers-color-scheme`.
    #[default]
    Auto,
    Dark,
    Light,
}

impl Theme {
    pub fn name(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }

    pub fn next(self) -> Theme {
        match self {
            Theme::Auto => Theme::Dark,
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::Auto,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefs {
    pub theme: Theme,
    /// A party paged this long ago and still not seated is highlighted.
    pub out_long_after_s: i64,
}

pub const OUT_LONG_DEFAULT_S: i64 = 300;
pub const OUT_LONG_RANGE_S: std::ops::RangeInclusive<i64> = 60..=3600;

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            theme: Theme::Auto,
            out_long_after_s: OUT_LONG_DEFAULT_S,
        }
    }
}

impl Prefs {
    pub fn to_line(self) -> String {
        format!("{};{}", self.theme.name(), self.out_long_after_s)
    }

    /// Anything unreadable falls back to the default, field by field.
    pub fn from_line(line: &str) -> Prefs {
        let mut parts = line.split(';');
        let theme = match parts.next() {
            Some("dark") => Theme::Dark,
            Some("light") => Theme::Light,
            _ => Theme::Auto,
        };
        let out_long_after_s = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| OUT_LONG_RANGE_S.contains(s))
            .unwrap_or(OUT_LONG_DEFAULT_S);
        Prefs {
            theme,
            out_long_after_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefs_round_trip_and_survive_garbage() {
        let p = Prefs {
            theme: Theme::Dark,
            out_long_after_s: 600,
        };
        assert_eq!(Prefs::from_line(&p.to_line()), p);
        assert_eq!(Prefs::from_line(""), Prefs::default());
        assert_eq!(Prefs::from_line("light;99999").theme, Theme::Light);
        assert_eq!(
            Prefs::from_line("light;99999").out_long_after_s,
            OUT_LONG_DEFAULT_S
        );
        assert_eq!(Theme::Light.next(), Theme::Auto);
    }
}
