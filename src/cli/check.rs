//! `portcullis check`: the config is valid (loading it proved that) and this is the route
//! table it gives, one row per rule and one per app's default.

use std::io::Write;

use crate::config::Config;

pub(super) fn print_routes(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "{}: ok", config.source.display())?;
    writeln!(
        out,
        "listen {}  portal {}",
        config
            .server
            .listen
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        config.server.portal_prefix
    )?;
    if let Some(tls) = &config.server.tls {
        let mut parts = vec![format!("https {}", tls.listen)];
        if let Some(files) = &tls.files {
            parts.push(format!(
                "certificate {} (valid until {})",
                files.cert.display(),
                crate::edge::when(files.loaded.not_after)
            ));
        }
        if let Some(acme) = &tls.acme {
            parts.push(format!(
                "acme {} for {}",
                acme.directory,
                acme.hosts.join(",")
            ));
        }
        writeln!(out, "{}", parts.join("  "))?;
    }
    let mut rows = vec![[
        "APP".to_string(),
        "HOST".into(),
        "PATH".into(),
        "METHODS".into(),
        "POLICY".into(),
        "SUBJECT".into(),
        "UPSTREAM".into(),
    ]];
    for app in config.router.apps() {
        let hosts = if app.hosts.is_empty() {
            "*".to_string()
        } else {
            app.hosts.join(",")
        };
        for rule in &app.rules {
            let mut subject = Vec::new();
            if !rule.users.is_empty() {
                subject.push(format!("users={}", rule.users.join(",")));
            }
            if !rule.groups.is_empty() {
                subject.push(format!("groups={}", rule.groups.join(",")));
            }
            rows.push([
                app.name.clone(),
                hosts.clone(),
                rule.paths
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                rule.methods.as_ref().map_or("*".into(), |m| m.join(",")),
                rule.policy.to_string(),
                if subject.is_empty() {
                    "-".into()
                } else {
                    subject.join(" ")
                },
                app.upstream.text.clone(),
            ]);
        }
        rows.push([
            app.name.clone(),
            hosts,
            "(default)".into(),
            "*".into(),
            app.default_policy.to_string(),
            "-".into(),
            app.upstream.text.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}
