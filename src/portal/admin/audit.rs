//! `GET {prefix}/admin/audit`: the audit trail, newest first, 50 rows a page, filtered by
//! user, event and a range of UTC dates (`YYYY-MM-DD`, both ends included).

use std::sync::Arc;

use askama::Template;

use super::{link, when};
use crate::http_response::HttpResponse;
use crate::portal::{During, Frame, PortalError, PortalPage, PortalRequest, Task};
use crate::session::ActiveSession;
use crate::store::{AuditEvent, AuditKind, AuditQuery};
use crate::user_fields::MAX_NAME_CHARS;
use crate::State;

/// Rows on a page.
const PAGE_ROWS: usize = 50;
/// The deepest page asked for (50,000 rows back); beyond, narrow the filters.
const MAX_PAGE: usize = 1_000;

/// An audit row as the page shows it.
struct ShownEvent {
    at: String,
    username: String,
    event: String,
    client_ip: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage<'a> {
    ui: &'a Frame,
    user: &'a str,
    from: &'a str,
    to: &'a str,
    /// Every event's name, and whether it is the one chosen.
    events: &'a [(&'static str, bool)],
    rows: &'a [ShownEvent],
    page: i64,
    prev: Option<String>,
    next: Option<String>,
    error: Option<String>,
}

/// The Unix time of 00:00 UTC on `date` (`YYYY-MM-DD`), if it is a real date.
fn day_start(date: &str) -> Option<i64> {
    use cookie::time::{Date, Month};
    let mut parts = date.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// `GET {prefix}/admin/audit?user=&event=&from=&to=&page=`.
pub(super) async fn list(
    state: &State,
    req: &PortalRequest,
    _admin: &Arc<ActiveSession>,
) -> Result<HttpResponse, PortalError> {
    let param = |name| req.query_param(name).unwrap_or_default().trim().to_string();
    let (user, event, from, to) = (param("user"), param("event"), param("from"), param("to"));
    let page: usize = param("page").parse().unwrap_or(1).clamp(1, MAX_PAGE);
    let events: Vec<(&'static str, bool)> = AuditKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.as_str() == event))
        .collect();
    let mut error = None;
    let date = |text: &str, after: i64| match text {
        "" => Some(None),
        text => day_start(text).map(|t| Some(t + after)),
    };
    let (since, until) = match (date(&from, 0), date(&to, 86_400)) {
        (Some(since), Some(until)) => (since, until),
        _ => {
            error = Some("admin-audit-bad-date");
            (None, None)
        }
    };
    if user.chars().count() > MAX_NAME_CHARS
        || !(event.is_empty() || events.iter().any(|(_, chosen)| *chosen))
    {
        error = Some("admin-audit-bad-filter");
    }
    let rows: Vec<AuditEvent> = match error {
        Some(_) => Vec::new(),
        None => {
            let query = AuditQuery {
                username: (!user.is_empty()).then(|| user.clone()),
                event: (!event.is_empty()).then(|| event.clone()),
                from: since,
                until,
                offset: (page - 1) * PAGE_ROWS,
                // One more than shown: whether a next page exists.
                limit: PAGE_ROWS + 1,
            };
            state
                .store
                .call(move |s| s.audit_search(&query))
                .await
                .during(Task::Account)?
        }
    };
    let more = rows.len() > PAGE_ROWS;
    let shown: Vec<ShownEvent> = rows
        .into_iter()
        .take(PAGE_ROWS)
        .map(|e| ShownEvent {
            at: when(e.at),
            username: e.username.unwrap_or_default(),
            event: e.event,
            client_ip: e.client_ip.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        })
        .collect();
    let page_link = |n: usize| {
        let n = n.to_string();
        let filters = [
            ("user", &user),
            ("event", &event),
            ("from", &from),
            ("to", &to),
        ];
        let mut query: Vec<(&str, &str)> = filters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        query.push(("page", &n));
        link(state, PortalPage::AdminAudit, &query)
    };
    let status = if error.is_some() { 400 } else { 200 };
    Ok(req.ui.render(
        status,
        &AuditPage {
            ui: &req.ui,
            user: &user,
            from: &from,
            to: &to,
            events: &events,
            rows: &shown,
            page: page as i64,
            prev: (page > 1).then(|| page_link(page - 1)),
            next: (more && page < MAX_PAGE).then(|| page_link(page + 1)),
            error: error.map(|key| req.ui.t(key)),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_dates_in_the_one_form_are_read() {
        assert_eq!(day_start("1970-01-02"), Some(86_400));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800));
        assert_eq!(day_start("2023-02-29"), None);
        assert_eq!(day_start("2024-2-1"), None);
        assert_eq!(day_start("yesterday"), None);
        assert_eq!(day_start(""), None);
    }
}
