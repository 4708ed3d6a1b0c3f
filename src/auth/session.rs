//! The dashboard's sessions, with auth on. Signing in on `/dashboard/sign-in`
//! (with a static token, or an OAuth client's id and secret) issues an access
//! token (the same JWT as `/connect/token`, so it expires after
//! `auth.token_lifetime_s` and a restart with a random signing key ends it)
//! and keeps it in the `wm_session` cookie: `HttpOnly` (no script reads it),
//! `SameSite=Strict` (no other site's page sends it), `Path=/`, and `Secure`
//! when the request came over HTTPS.
//!
//! A request that carries the cookie and no `Authorization` header acts for
//! the session's program manager, on the dashboard's pages and on the API
//! calls its script makes. A state-changing one (any method but GET, HEAD and
//! OPTIONS) must also carry the session's CSRF token in `X-CSRF-Token`: a
//! digest of the session that only a page of this origin can know (each page
//! holds it in `<meta name="csrf-token">`).

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::http::Method;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::digest::sha256;

/// The session cookie's name.
pub const COOKIE: &str = "wm_session";

/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A request authenticated by its session cookie: its CSRF token, for the
/// pages to hand to their script. Put in the request's extensions.
#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
}

impl Session {
    pub fn of(cookie: &str) -> Self {
        Self {
            csrf: csrf_token(cookie),
        }
    }

    /// Whether `presented` is this session's CSRF token (in constant time).
    pub fn accepts(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

/// The CSRF token of a session: unguessable without the cookie, which no
/// script and no other site can read.
fn csrf_token(cookie: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(&format!("csrf:{cookie}")))
}

/// Whether a method changes state (and so needs the CSRF token).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The cookie that keeps a session for `lifetime_s` seconds.
pub fn cookie(token: String, lifetime_s: i64, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(Duration::seconds(lifetime_s))
        .finish()
}

/// The cookie that ends a session.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut cookie = cookie(String::new(), 0, secure);
    cookie.make_removal();
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let a = Session::of("session-a");
        assert!(a.accepts(Some(&Session::of("session-a").csrf)));
        assert!(!a.accepts(Some(&Session::of("session-b").csrf)));
        assert!(!a.accepts(Some("")));
        assert!(!a.accepts(None));
        assert!(!a.csrf.contains("session-a"), "a digest, not the session");
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let text = cookie("t".into(), 3600, false).to_string();
        for part in [
            "wm_session=t",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(!text.contains("Secure"), "{text}");
        assert!(cookie("t".into(), 1, true).to_string().contains("Secure"));
        assert!(removal(false).to_string().contains("Max-Age=0"));
    }

    #[test]
    fn only_safe_methods_go_without_the_token() {
        for (method, changes) in [
            (Method::GET, false),
            (Method::HEAD, false),
            (Method::OPTIONS, false),
            (Method::POST, true),
            (Method::PUT, true),
            (Method::DELETE, true),
            (Method::PATCH, true),
        ] {
            assert_eq!(changes_state(&method), changes, "{method}");
        }
    }
}
