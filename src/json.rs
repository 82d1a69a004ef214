//! JSON text to and from values (scenarios, run files, a Share link's actions). Natively
//! serde_json; in the browser the page's own `JSON.parse` / `JSON.stringify` with
//! serde-wasm-bindgen, so the page's wasm carries no JSON parser or printer of its own
//! (serde_json and its instantiations for every type cost the page 23 KB gzipped; the crate
//! still serves the trace hash, which the page never calls). Both give the
//! same values and the same text for these types (strings, integers, booleans, sequences,
//! string-keyed maps; no floats). They differ only on text serde_json refuses or on huge
//! numbers: the words of an error; the browser takes a repeated key (the last wins) and an
//! integer written `1.0` or `1e3`; it refuses integers of 2^53 or more (a JavaScript number
//! cannot hold them exactly) with an error rather than alter them.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Parses `json` as a `T`; the error says what is wrong with the text.
#[cfg(not(target_arch = "wasm32"))]
pub fn from_str<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// Parses `json` as a `T`; the error says what is wrong with the text.
#[cfg(target_arch = "wasm32")]
pub fn from_str<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(json).map_err(error_message)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// `value` as compact JSON text.
#[cfg(not(target_arch = "wasm32"))]
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// `value` as compact JSON text, as serde_json writes it: objects for maps, `null` for `None`.
#[cfg(target_arch = "wasm32")]
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| e.to_string())?;
    js_sys::JSON::stringify(&value)
        .map(String::from)
        .map_err(error_message)
}

/// The message of an exception `JSON` threw.
#[cfg(target_arch = "wasm32")]
fn error_message(e: wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    e.unchecked_into::<js_sys::Error>().message().into()
}
