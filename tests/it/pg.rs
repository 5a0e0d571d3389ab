//! A throw-away PostgreSQL cluster for the test run: Debian's `postgresql` binaries, `initdb`
//! in a temporary directory, `postgres` on a free loopback port (as the `postgres` user when
//! the tests run as root, which PostgreSQL refuses to be). Started once per test process on
//! first use; stopped by its PID when the process exits (and, should the process die
//! without exiting, by the kernel's parent-death signal). Every gateway gets a database of its
//! own.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether this test binary runs the suite on PostgreSQL (`it_postgres`) rather than SQLite
/// (`it`): the one parameter between the two runs of the same tests. On a developer machine
/// without PostgreSQL, `it_postgres` says so once and runs on SQLite; in CI (`CI` set) it
/// never does: a missing PostgreSQL fails the tests.
pub fn on_postgres() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let wanted = env!("CARGO_CRATE_NAME") == "it_postgres";
        if wanted && bin_dir().is_none() && std::env::var_os("CI").is_none() {
            eprintln!("PostgreSQL is not installed: it_postgres runs on SQLite (CI installs it)");
            return false;
        }
        wanted
    })
}

/// The newest installed PostgreSQL's binaries.
pub fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// A running cluster.
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    pub bin: PathBuf,
    pid: AtomicU32,
    /// More `-c` settings for the server.
    settings: Vec<String>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The postgres user's uid and gid, when the tests run as root.
fn postgres_ids() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let out = Command::new("id").args(["-u", "postgres"]).output().ok()?;
    let uid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    let out = Command::new("id").args(["-g", "postgres"]).output().ok()?;
    let gid = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((uid, gid))
}

fn as_postgres(cmd: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = postgres_ids() {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

extern "C" fn stop_at_exit() {
    if let Some(c) = CLUSTER.get() {
        c.stop();
        let _ = std::fs::remove_dir_all(&c.dir);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    /// The cluster of this process, started on first use.
    pub fn get() -> &'static Cluster {
        CLUSTER.get_or_init(|| {
            // Started from a thread that lives as long as the process: the parent-death
            // signal follows the thread that forked.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                tx.send(Cluster::start()).unwrap();
                loop {
                    std::thread::park();
                }
            });
            let cluster = rx.recv().unwrap();
            unsafe { libc::atexit(stop_at_exit) };
            cluster
        })
    }

    /// A cluster of the caller's own (a test that stops it); stopped when dropped.
    pub fn start_private() -> Cluster {
        Cluster::start_with(Vec::new(), &[])
    }

    /// A cluster of the caller's own that speaks TLS with this certificate and key (PEM).
    pub fn start_private_with_tls(cert: &str, key: &str) -> Cluster {
        Cluster::start_with(
            vec![
                "ssl=on".into(),
                "ssl_cert_file=server.crt".into(),
                "ssl_key_file=server.key".into(),
            ],
            &[("server.crt", cert), ("server.key", key)],
        )
    }

    fn start() -> Cluster {
        Cluster::start_with(Vec::new(), &[])
    }

    /// A new cluster with `settings`, and `files` written into its data directory (0600).
    fn start_with(settings: Vec<String>, files: &[(&str, &str)]) -> Cluster {
        let bin = bin_dir().expect("PostgreSQL is installed (apt-get install postgresql)");
        let dir = tempfile::Builder::new()
            .prefix("portcullis-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if let Some((uid, gid)) = postgres_ids() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.join("data");
        let out = as_postgres(Command::new(bin.join("initdb")).args([
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]))
        .output()
        .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for (name, text) in files {
            use std::os::unix::fs::PermissionsExt;
            let path = data.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            if let Some((uid, gid)) = postgres_ids() {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        let cluster = Cluster {
            port: crate::helpers::free_port(),
            dir,
            bin,
            pid: AtomicU32::new(0),
            settings,
        };
        cluster.restart();
        cluster
    }

    /// Starts the server on the cluster's data and port; returns once it accepts connections.
    pub fn restart(&self) {
        let data = self.dir.join("data");
        let mut cmd = Command::new(self.bin.join("postgres"));
        as_postgres(&mut cmd)
            .args(["-D", data.to_str().unwrap(), "-p", &self.port.to_string()])
            .args(["-k", self.dir.to_str().unwrap()])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=400"])
            .args(self.settings.iter().flat_map(|c| ["-c", c.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT);
                Ok(())
            });
        }
        // Reaped by `stop`, which waits for it by its PID.
        #[allow(clippy::zombie_processes)]
        let child = cmd.spawn().expect("postgres starts");
        self.pid.store(child.id(), Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.ready() {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server by its PID (fast shutdown); its data stays for [`Cluster::restart`].
    pub fn stop(&self) {
        let pid = self.pid.swap(0, Ordering::SeqCst);
        if pid == 0 {
            return;
        }
        unsafe { libc::kill(pid as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && unsafe { libc::kill(pid as i32, 0) } == 0 {
            let mut status = 0;
            unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `sql` as the superuser on database `db`.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                db,
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        let n = DATABASES.fetch_add(1, Ordering::SeqCst);
        let name = format!("t{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Everything in the database at `url`, as `pg_dump` writes it: what is at rest.
    pub fn dump(&self, url: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["--data-only", url])
            .output()
            .expect("pg_dump runs");
        assert!(out.status.success());
        out.stdout
    }
}
