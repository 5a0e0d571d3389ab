//! The audit trail: logins, failures, bans and logouts are recorded with client address and
//! User-Agent, never a password, and `portcullis audit` shows them as a table and as JSON.

use crate::helpers::*;

/// The User-Agent these tests send, to find it again in the audit trail.
const UA: &str = "portcullis-hardening-test/1.0";

/// A guessed password that must never reach the audit trail.
const GUESS: &str = "Tr0ub4dor&3-guess";

#[tokio::test(flavor = "multi_thread")]
async fn logins_failures_bans_and_logouts_are_audited_and_the_cli_shows_them() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let ua = [("User-Agent", UA)];

    let mut a = gw.browser();
    a.login_with(&p, "alice", PASSWORD, "/", &ua)
        .await
        .assert_redirect_to("/");
    a.submit_with(&format!("{p}/account"), &format!("{p}/logout"), &[], &ua)
        .await
        .assert_redirect_to(&format!("{p}/login?signed_out=1"));

    let mut m = gw.browser();
    for attempt in 1..=5 {
        let r = m.login_with(&p, "bob", GUESS, "/", &ua).await;
        assert_eq!(r.status, if attempt < 5 { 200 } else { 429 }, "{}", r.body);
    }

    // Every row counted below: each is written by its own spawned task, in no fixed order.
    let rows = audit_until(&gw, |rows| {
        count_rows(rows, "login", "alice") >= 1
            && count_rows(rows, "logout", "alice") >= 1
            && count_rows(rows, "login_failure", "bob") >= 5
            && count_rows(rows, "ban", "bob") >= 2
    })
    .await;
    for (event, user) in [
        ("login", "alice"),
        ("logout", "alice"),
        ("login_failure", "bob"),
        ("ban", "bob"),
    ] {
        let row = rows
            .iter()
            .find(|e| e.event == event && e.username.as_deref() == Some(user))
            .unwrap_or_else(|| panic!("no {event} row for {user} in {rows:#?}"));
        assert_eq!(row.client_ip.as_deref(), Some("127.0.0.1"), "{row:?}");
        assert_eq!(row.user_agent.as_deref(), Some(UA), "{row:?}");
        assert!(row.at > 0);
    }
    assert_eq!(count_rows(&rows, "login_failure", "bob"), 5);
    let bans: Vec<&str> = rows
        .iter()
        .filter(|e| e.event == "ban")
        .filter_map(|e| e.detail.as_deref())
        .collect();
    assert!(bans.iter().any(|d| d.starts_with("user:bob")), "{bans:?}");
    assert!(
        bans.iter().any(|d| d.starts_with("ip:127.0.0.1")),
        "{bans:?}"
    );
    // No secret reaches the trail.
    assert!(!rows.iter().any(|e| format!("{e:?}").contains(GUESS)));
    assert!(!rows.iter().any(|e| format!("{e:?}").contains(PASSWORD)));

    let out = gw.cli(&["audit"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for (event, user) in [
        ("login ", "alice"),
        ("logout", "alice"),
        ("login_failure", "bob"),
        ("ban ", "bob"),
    ] {
        assert!(
            table.lines().any(|l| l.contains(event)
                && l.contains(user)
                && l.contains("127.0.0.1")
                && l.contains(UA)),
            "no {event} line for {user}:\n{table}"
        );
    }

    let out = gw.cli(&["audit", "--json"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 9, "{text}");
    let ban = lines
        .iter()
        .find(|v| v["event"] == "ban" && v["username"] == "bob")
        .unwrap_or_else(|| panic!("no ban in {text}"));
    assert_eq!(ban["client_ip"], "127.0.0.1");
    assert_eq!(ban["user_agent"], UA);
    assert!(ban["at"].as_i64().unwrap() > 0);

    let out = gw.cli(&["audit", "--user", "alice", "--json"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().all(|l| l.contains("\"username\":\"alice\"")),
        "{text}"
    );
}
