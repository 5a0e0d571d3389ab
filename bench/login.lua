-- wrk script: post the same correct login over and over (the login storm of bench/run.sh).
--
-- LOGIN_BODY   the urlencoded form: username, password, csrf, rd
-- LOGIN_COOKIE the pre-session CSRF cookie the csrf field was derived from
-- Each request costs the gateway one argon2id verification and opens one session.
wrk.method = "POST"
wrk.body = os.getenv("LOGIN_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("LOGIN_COOKIE")
