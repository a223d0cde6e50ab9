//! The transparency pages (SPEC section 5, "Pages"): HTML drawn on the
//! server from the code's own definitions and the live database, usable
//! without JavaScript, every asset served by lucent itself. Templates are
//! under `templates/` (askama, escaping HTML by default).

mod assets;
mod chart;
mod deployment;
mod docs;
mod index;
mod stats;

pub use docs::DocsPage;
pub use index::WitnessKeys;

use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get};

/// Only lucent's own style sheet, script and requests; no inline script or
/// style, no frames, forms posting only to lucent.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The headers of every page and asset.
fn security_headers() -> SetHeader {
    SetHeader::new()
        .overriding("content-security-policy", CONTENT_SECURITY_POLICY)
        .overriding("x-content-type-options", "nosniff")
        .overriding("referrer-policy", "no-referrer")
}

/// `/`: what is stored and what is not, the live schema, how to verify;
/// every other path goes to `rest`. (poem's router sends `/` to a
/// catch-all such as `nest("/", …)` even when `/` has a route of its own.)
pub fn index_or<E: Endpoint>(rest: E) -> impl Endpoint<Output = Response> {
    IndexOr {
        index: get(index::page).with(security_headers()),
        rest,
    }
}

struct IndexOr<I, E> {
    index: I,
    rest: E,
}

impl<I: Endpoint, E: Endpoint> Endpoint for IndexOr<I, E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        if request.uri().path() == "/" {
            self.index
                .call(request)
                .await
                .map(IntoResponse::into_response)
        } else {
            self.rest
                .call(request)
                .await
                .map(IntoResponse::into_response)
        }
    }
}

/// `/stats`: the aggregates as charts and tables.
pub fn stats() -> impl Endpoint {
    get(stats::page).with(security_headers())
}

/// `/deployment`: look up a deployment's entries.
pub fn deployment() -> impl Endpoint {
    get(deployment::page).with(security_headers())
}

/// `/docs`: the API reference, drawn from the OpenAPI description.
pub fn docs() -> impl Endpoint {
    get(docs::page).with(security_headers())
}

/// `/assets/…`: the style sheet and the lookup script.
pub fn assets() -> impl Endpoint {
    Route::new()
        .at("/lucent.css", get(assets::style_sheet))
        .at("/deployment.js", get(assets::deployment_script))
        .with(security_headers())
}

/// The log's public URL: by convention its origin with a scheme, plain
/// HTTP only for a server on this machine.
fn public_url(origin: &str) -> String {
    let authority = origin.split('/').next().unwrap_or_default();
    let host = match authority.find(']') {
        Some(end) => &authority[..=end],
        None => authority.split(':').next().unwrap_or_default(),
    };
    let scheme = match host {
        "localhost" | "127.0.0.1" | "[::1]" => "http",
        _ => "https",
    };
    format!("{scheme}://{origin}")
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn public_urls() {
        assert_eq!(public_url("log.example.org"), "https://log.example.org");
        assert_eq!(
            public_url("log.example.org/lucent"),
            "https://log.example.org/lucent"
        );
        assert_eq!(public_url("localhost:8080"), "http://localhost:8080");
        assert_eq!(public_url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(public_url("[::1]:8080"), "http://[::1]:8080");
    }
}
