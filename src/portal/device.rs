//! A browser and its system in plain words, from a `User-Agent`, for the list of a person's
//! sessions ("Firefox on Windows", "Safari on iPhone"). Only the families people recognise are
//! named; anything else is left unnamed rather than guessed.

/// The browser and system a `User-Agent` names, when it names ones people know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device {
    pub browser: Option<&'static str>,
    pub system: Option<&'static str>,
}

impl Device {
    pub fn from_user_agent(ua: &str) -> Device {
        Device {
            browser: browser(ua),
            system: system(ua),
        }
    }
}

fn browser(ua: &str) -> Option<&'static str> {
    // Most specific first: every Chromium browser also says "Chrome" and "Safari".
    const FAMILIES: [(&str, &str); 12] = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Vivaldi/", "Vivaldi"),
        ("FxiOS/", "Firefox"),
        ("Firefox/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("curl/", "curl"),
    ];
    if let Some((_, name)) = FAMILIES.iter().find(|(token, _)| ua.contains(token)) {
        return Some(name);
    }
    if ua.contains("Safari/") && ua.contains("Version/") {
        return Some("Safari");
    }
    None
}

fn system(ua: &str) -> Option<&'static str> {
    const SYSTEMS: [(&str, &str); 9] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
        ("FreeBSD", "FreeBSD"),
    ];
    SYSTEMS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(ua: &str) -> (Option<&str>, Option<&str>) {
        let d = Device::from_user_agent(ua);
        (d.browser, d.system)
    }

    #[test]
    fn common_browsers_are_named_with_their_systems() {
        assert_eq!(
            named("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"),
            (Some("Chrome"), Some("Linux"))
        );
        assert_eq!(
            named("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"),
            (Some("Safari"), Some("iPhone"))
        );
        assert_eq!(
            named("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0"),
            (Some("Edge"), Some("Windows"))
        );
        assert_eq!(
            named("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0"),
            (Some("Firefox"), Some("macOS"))
        );
        assert_eq!(
            named("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"),
            (Some("Chrome"), Some("Android"))
        );
    }

    #[test]
    fn unknown_agents_are_left_unnamed() {
        assert_eq!(named(""), (None, None));
        assert_eq!(named("python-requests/2.31"), (None, None));
        assert_eq!(named("curl/8.5.0"), (Some("curl"), None));
    }
}
