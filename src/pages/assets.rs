//! The pages' only assets, built into the binary.

use poem::{Response, handler};

const STYLE_SHEET: &str = include_str!("../../assets/lucent.css");
const DEPLOYMENT_SCRIPT: &str = include_str!("../../assets/deployment.js");

fn asset(content_type: &str, body: &'static str) -> Response {
    Response::builder()
        .content_type(content_type)
        // Small, and they change with the binary: always revalidate.
        .header("cache-control", "no-cache")
        .body(body)
}

#[handler]
pub fn style_sheet() -> Response {
    asset("text/css; charset=utf-8", STYLE_SHEET)
}

#[handler]
pub fn deployment_script() -> Response {
    asset("text/javascript; charset=utf-8", DEPLOYMENT_SCRIPT)
}
