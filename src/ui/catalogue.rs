//! The lessons the page offers and the student's progress through them.
//!
//! Lesson files are not built into the wasm (their text would weigh on every first load):
//! the page fetches `lessons/index.json` and each file listed there once, in the
//! background, when it opens. Progress (`solved`, or `seen` when the solution was shown)
//! is kept in the browser's `localStorage`, and can be saved to a file and loaded back.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use crate::sim::lesson;

/// `localStorage` key of the progress record (its format is versioned by the name).
const PROGRESS_KEY: &str = "replscope.progress.v1";

/// Most lessons the progress record keeps (built-in ones are far fewer; a record edited
/// by hand cannot grow the page's storage without bound).
const MAX_PROGRESS: usize = 200;

/// One lesson of the menu.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    pub title: String,
    pub sequence: String,
    /// It takes parameters from the seed (a student opening it gets a seed of their own).
    pub randomised: bool,
    pub text: Rc<str>,
}

/// The lessons fetched so far, in catalogue order.
#[derive(Default)]
pub struct Catalogue {
    pub names: Vec<String>,
    pub entries: BTreeMap<String, Entry>,
    /// Why loading failed, if it did.
    pub error: Option<String>,
}

impl Catalogue {
    /// The lessons loaded, in catalogue order.
    pub fn in_order(&self) -> Vec<Entry> {
        self.names
            .iter()
            .filter_map(|n| self.entries.get(n).cloned())
            .collect()
    }
}

pub type SharedCatalogue = Rc<RefCell<Catalogue>>;

/// GETs `url` and hands its text (or why not) to `done`.
pub fn fetch_text(url: &str, done: impl FnOnce(Result<String, String>) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let done = Rc::new(RefCell::new(Some(done)));
    let fail = {
        let done = done.clone();
        move |why: String| {
            if let Some(f) = done.borrow_mut().take() {
                f(Err(why));
            }
        }
    };
    let url_owned = url.to_string();
    let on_response = {
        let done = done.clone();
        let fail = fail.clone();
        Closure::once(move |r: JsValue| {
            let Ok(response) = r.dyn_into::<web_sys::Response>() else {
                return fail(format!("{url_owned}: no response"));
            };
            if !response.ok() {
                return fail(format!("{url_owned}: HTTP {}", response.status()));
            }
            let Ok(text) = response.text() else {
                return fail(format!("{url_owned}: unreadable"));
            };
            let on_text = Closure::once(move |t: JsValue| {
                if let Some(f) = done.borrow_mut().take() {
                    f(t.as_string().ok_or_else(|| "not text".to_string()));
                }
            });
            let _ = text.then(&on_text);
            on_text.forget();
        })
    };
    let on_error = Closure::once(move |e: JsValue| fail(format!("{e:?}")));
    let _ = window.fetch_with_str(url).then2(&on_response, &on_error);
    on_response.forget();
    on_error.forget();
}

/// Fetches the catalogue, then every lesson in it; `changed` runs as each arrives.
pub fn load(catalogue: SharedCatalogue, changed: impl Fn() + Clone + 'static) {
    let cat = catalogue.clone();
    fetch_text("lessons/index.json", move |index| {
        let names: Result<Vec<String>, String> =
            index.and_then(|t| crate::json::from_str(&t).map_err(|e| e.to_string()));
        let names = match names {
            Ok(n) => n,
            Err(e) => {
                cat.borrow_mut().error = Some(format!("the lessons could not be loaded: {e}"));
                changed();
                return;
            }
        };
        cat.borrow_mut().names = names.clone();
        for name in names {
            let (cat, changed) = (cat.clone(), changed.clone());
            fetch_text(&format!("lessons/{name}.json"), move |text| {
                match text.and_then(|t| {
                    let s = lesson::instantiate(&t, None)?;
                    Ok((s, t))
                }) {
                    Ok((s, t)) => {
                        let randomised = s.lesson.as_ref().is_some_and(|l| !l.params.is_empty());
                        let sequence = s.lesson.map(|l| l.sequence).unwrap_or_default();
                        cat.borrow_mut().entries.insert(
                            name.clone(),
                            Entry {
                                name,
                                title: s.title,
                                sequence,
                                randomised,
                                text: t.into(),
                            },
                        );
                    }
                    Err(e) => cat.borrow_mut().error = Some(format!("lesson {name}: {e}")),
                }
                changed();
            });
        }
    });
}

/// Progress: lesson name → `solved` or `seen`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub lessons: BTreeMap<String, String>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl Progress {
    /// The record kept in this browser.
    pub fn load() -> Progress {
        storage()
            .and_then(|s| s.get_item(PROGRESS_KEY).ok().flatten())
            .and_then(|t| Progress::parse(&t).ok())
            .unwrap_or_default()
    }

    /// A record from a file (as [`Progress::to_json`] writes it).
    pub fn parse(text: &str) -> Result<Progress, String> {
        let p: Progress = crate::json::from_str(text)
            .map_err(|e| format!("not a replscope progress file: {e}"))?;
        if p.lessons.len() > MAX_PROGRESS
            || p.lessons.values().any(|v| v != "solved" && v != "seen")
        {
            return Err("not a replscope progress file".into());
        }
        Ok(p)
    }

    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    /// Records `word` for `name` (never `seen` over `solved`); true if it changed.
    pub fn record(&mut self, name: &str, word: &str) -> bool {
        let had = self.lessons.get(name).map(String::as_str);
        if had == Some(word) || had == Some("solved") || self.lessons.len() >= MAX_PROGRESS {
            return false;
        }
        self.lessons.insert(name.to_string(), word.to_string());
        self.save();
        true
    }

    /// Adds a record read from a file (solved wins over seen).
    pub fn merge(&mut self, other: Progress) {
        for (k, v) in other.lessons {
            let room = self.lessons.len() < MAX_PROGRESS || self.lessons.contains_key(&k);
            if room && self.lessons.get(&k).map(String::as_str) != Some("solved") {
                self.lessons.insert(k, v);
            }
        }
        self.save();
    }

    fn save(&self) {
        if let Some(s) = storage() {
            let _ = s.set_item(PROGRESS_KEY, &self.to_json());
        }
    }

    /// The menu's mark for a lesson: ✓ solved, ◐ seen.
    pub fn mark(&self, name: &str) -> &'static str {
        match self.lessons.get(name).map(String::as_str) {
            Some("solved") => "✓ ",
            Some("seen") => "◐ ",
            _ => "",
        }
    }
}

/// Reads the text of the first file of a file input or a drop, then hands it to `done`.
pub fn read_file(file: web_sys::File, done: impl FnOnce(String, String) + 'static) {
    let name = file.name();
    let on_text = Closure::once(move |t: JsValue| done(name, t.as_string().unwrap_or_default()));
    let _ = file.text().then(&on_text);
    on_text.forget();
}
