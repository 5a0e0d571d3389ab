//! `portcullis bans list | lift` and `portcullis audit` through the real binary, against a
//! running gateway: bans are listed with their ends as dates, a lifted ban stops being
//! enforced at once, and the audit trail shows dates, never Unix seconds.

use cookie::time::{Date, Month, PrimitiveDateTime, Time};

use crate::helpers::*;

/// Three failures in five minutes ban for fifteen.
const BAN_SECS: i64 = 900;

/// The `[regulation]` of every gateway here (with [`TRUST_LOOPBACK`], so that a test can play
/// many client addresses): a ban at the third failure.
const BAN_AT_THE_THIRD: &str = "[regulation]\nmax_failures = 3\nwindow = \"5m\"\nban = \"15m\"";

/// Wrong passwords from `ip`, for `users` in turn, until the gateway answers 429 (within ten).
async fn ban(gw: &TestGateway, ip: &str, users: &[&str]) {
    let (_, attempts) = fail_until_banned_as(gw, ip, users).await;
    assert!(attempts <= 10, "no ban after 10 wrong passwords from {ip}");
}

/// Standard output of a command that must succeed.
fn ok(gw: &TestGateway, args: &[&str]) -> String {
    let out = gw.cli(args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Standard error of a command that must fail, which must be one line.
fn fails(gw: &TestGateway, args: &[&str]) -> String {
    let out = gw.cli(args, None);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The first `YYYY-MM-DD HH:MM:SS` in `text`, as Unix seconds (read as UTC).
fn first_date_time(text: &str) -> Option<i64> {
    let shape = "dddd-dd-dd dd:dd:dd";
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(shape.len() - 1)).find_map(|i| {
        let s = &bytes[i..i + shape.len()];
        let fits = shape.bytes().zip(s).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            sep => sep == *got,
        });
        if !fits {
            return None;
        }
        let s = std::str::from_utf8(s).unwrap();
        let n = |from: usize, to: usize| s[from..to].parse::<u16>().unwrap();
        let date = Date::from_calendar_date(
            n(0, 4) as i32,
            Month::try_from(n(5, 7) as u8).ok()?,
            n(8, 10) as u8,
        )
        .ok()?;
        let time = Time::from_hms(n(11, 13) as u8, n(14, 16) as u8, n(17, 19) as u8).ok()?;
        Some(
            PrimitiveDateTime::new(date, time)
                .assume_utc()
                .unix_timestamp(),
        )
    })
}

/// Whether `text` holds a run of ten or more digits (Unix seconds in this century).
fn has_epoch_number(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() >= 10)
}

/// The line of a `bans list` table that starts with `subject`.
fn row<'a>(table: &'a str, subject: &str) -> Option<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(subject))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_from_failed_sign_ins_is_listed_with_its_end_as_a_utc_date() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("alice", &[]);
    assert_eq!(ok(&gw, &["bans", "list"]).trim(), "no active bans");
    ban(&gw, "203.0.113.7", &["alice"]).await;

    let table = ok(&gw, &["bans", "list"]);
    let bans = gw.store().active_bans(now() as i64).unwrap();
    for (subject, key, kind) in [
        ("alice", "user:alice", "user"),
        ("203.0.113.7", "ip:203.0.113.7", "address"),
    ] {
        let line = row(&table, subject).unwrap_or_else(|| panic!("no {subject} in\n{table}"));
        assert!(line.contains(kind), "{line}");
        assert!(line.contains(" UTC"), "{line}");
        let until = bans
            .iter()
            .find(|b| b.key == key)
            .expect("a stored ban")
            .until;
        assert_eq!(
            first_date_time(line),
            Some(until),
            "the end shown is the ban's end: {line}"
        );
        assert!(until - now() as i64 > BAN_SECS - 60, "a fresh ban: {line}");
        assert!(
            line.contains("14m") || line.contains("15m"),
            "how long remains: {line}"
        );
        assert!(!has_epoch_number(line), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lifting_a_users_ban_lets_the_right_password_in_at_once() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    ban(&gw, "203.0.113.7", &["alice"]).await;
    // From another address, only the user's ban stands in the way.
    let r = gw
        .browser()
        .login_from(gw.prefix(), "203.0.113.8", "alice", PASSWORD)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);

    // Another address, banned by failures on other names, is not alice's to lift.
    ban(&gw, "203.0.113.9", &["victim1", "victim2", "victim3"]).await;

    let said = ok(&gw, &["bans", "lift", "Alice"]);
    assert!(said.contains("lifted the ban on alice"), "{said}");
    // The address ban her own failures started goes with it: she would still be refused from
    // there otherwise.
    assert!(said.contains("lifted the ban on 203.0.113.7"), "{said}");
    assert!(first_date_time(&said).is_some(), "{said}");

    for from in ["203.0.113.8", "203.0.113.7"] {
        let r = gw
            .browser()
            .login_from(gw.prefix(), from, "alice", PASSWORD)
            .await;
        r.assert_redirect_to("/");
    }
    let r = gw
        .browser()
        .login_from(gw.prefix(), "203.0.113.9", "bob", PASSWORD)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let table = ok(&gw, &["bans", "list"]);
    assert!(row(&table, "alice").is_none(), "{table}");
    assert!(row(&table, "203.0.113.7").is_none(), "{table}");
    assert!(row(&table, "203.0.113.9").is_some(), "{table}");
    // Lifted once; there is nothing left to lift.
    assert!(fails(&gw, &["bans", "lift", "alice"]).contains("no active ban"));
}

#[tokio::test(flavor = "multi_thread")]
async fn lifting_an_addresss_ban_lets_it_sign_in_at_once() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("alice", &[]);
    ban(&gw, "203.0.113.20", &["victim1", "victim2", "victim3"]).await;
    let r = gw
        .browser()
        .login_from(gw.prefix(), "203.0.113.20", "alice", PASSWORD)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);

    let said = ok(&gw, &["bans", "lift", "203.0.113.20"]);
    assert!(said.contains("203.0.113.20"), "{said}");
    let r = gw
        .browser()
        .login_from(gw.prefix(), "203.0.113.20", "alice", PASSWORD)
        .await;
    r.assert_redirect_to("/");
    assert_eq!(ok(&gw, &["bans", "list"]).trim(), "no active bans");
}

#[tokio::test(flavor = "multi_thread")]
async fn any_address_of_a_banned_ipv6_slash_64_lifts_its_ban() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("alice", &[]);
    ban(&gw, "2001:db8:1:2::7", &["victim1", "victim2", "victim3"]).await;
    // The whole /64 is banned.
    let r = gw
        .browser()
        .login_from(gw.prefix(), "2001:db8:1:2::8", "alice", PASSWORD)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let table = ok(&gw, &["bans", "list"]);
    let line = row(&table, "2001:db8:1:2::/64").unwrap_or_else(|| panic!("{table}"));
    assert!(first_date_time(line).is_some(), "{line}");

    ok(&gw, &["bans", "lift", "2001:db8:1:2:ffff::99"]);
    let r = gw
        .browser()
        .login_from(gw.prefix(), "2001:db8:1:2::7", "alice", PASSWORD)
        .await;
    r.assert_redirect_to("/");
}

#[tokio::test(flavor = "multi_thread")]
async fn lifting_what_is_not_banned_fails_with_one_line() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("alice", &[]);
    ban(&gw, "203.0.113.7", &["alice"]).await;
    for (subject, why) in [
        ("bob", "no active ban on user `bob`"),
        ("198.51.100.1", "no active ban on address 198.51.100.1"),
        ("2001:db8::/48", "wider than a ban"),
        ("ip:nonsense", "neither a user name nor an IP address"),
    ] {
        let err = fails(&gw, &["bans", "lift", subject]);
        assert!(err.contains(why), "{subject}: {err}");
    }
    // The bans that exist are untouched.
    let table = ok(&gw, &["bans", "list"]);
    assert!(row(&table, "alice").is_some(), "{table}");
    assert!(row(&table, "203.0.113.7").is_some(), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_shows_dates_and_no_unix_seconds() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("alice", &[]);
    ban(&gw, "203.0.113.7", &["alice"]).await;
    ok(&gw, &["bans", "lift", "alice"]);
    // The gateway writes its rows off the request path.
    audit_until(&gw, |rows| rows.iter().any(|e| e.event == "ban")).await;
    let table = ok(&gw, &["audit", "--limit", "100"]);
    for event in ["login_failure", " ban ", "ban_lifted"] {
        let line = table
            .lines()
            .find(|l| l.contains(event))
            .unwrap_or_else(|| panic!("no {event} in\n{table}"));
        let at = first_date_time(line).unwrap_or_else(|| panic!("no date in {line}"));
        assert!((at - now() as i64).abs() < 120, "{line}");
    }
    let ban = table.lines().find(|l| l.contains(" ban ")).unwrap();
    assert!(ban.contains(" until ") && ban.contains(" UTC"), "{ban}");
    assert!(!has_epoch_number(&table), "Unix seconds in\n{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bans_can_be_listed_and_lifted_while_a_rule_in_the_file_has_a_mistake() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", BAN_AT_THE_THIRD);
    gw.add_user("bob", &[]);
    ban(&gw, "203.0.113.40", &["bob"]).await;
    // A mistake elsewhere in the file, say one a reload just refused.
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    let broken = text.replacen("policy = \"deny\"", "polcy = \"deny\"", 1);
    assert_ne!(text, broken);
    std::fs::write(&gw.config_path, broken).unwrap();

    let out = gw.cli(&["bans", "list"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(row(&String::from_utf8_lossy(&out.stdout), "bob").is_some());
    // The mistake is still reported where it is, as a warning.
    let at = format!("{}:", gw.config_path.display());
    assert!(stderr.contains(&at) && stderr.contains("polcy"), "{stderr}");
    let out = gw.cli(&["bans", "lift", "bob"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut b = gw.browser();
    let page = b
        .login_from(gw.prefix(), "203.0.113.41", "bob", PASSWORD)
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    // `check` still refuses the file.
    let out = gw.cli(&["check"], None);
    assert!(!out.status.success());
}
