//! A redis-cli-like console for one node: `name:6379>` prompt, history with ↑/↓, replies
//! formatted as redis-cli prints them.

use yew::prelude::*;

use super::model::ConsoleLine;

#[derive(Properties, PartialEq)]
pub struct ConsoleProps {
    pub node: String,
    pub lines: Vec<ConsoleLine>,
    pub history: Vec<String>,
    pub on_exec: Callback<(String, String)>,
}

#[component]
pub fn Console(props: &ConsoleProps) -> Html {
    let input = use_node_ref();
    // Position in history while browsing with ↑/↓ (None: editing a new line).
    let cursor = use_mut_ref(|| None::<usize>);
    let output = use_node_ref();
    {
        let output = output.clone();
        use_effect_with(props.lines.len(), move |_| {
            if let Some(el) = output.cast::<web_sys::Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    let onkeydown = {
        let input = input.clone();
        let node = props.node.clone();
        let on_exec = props.on_exec.clone();
        let history = props.history.clone();
        Callback::from(move |e: KeyboardEvent| {
            let Some(el) = input.cast::<web_sys::HtmlInputElement>() else {
                return;
            };
            // Keys typed in a console never reach the page's shortcuts.
            e.stop_propagation();
            match e.key().as_str() {
                "Enter" => {
                    on_exec.emit((node.clone(), el.value()));
                    el.set_value("");
                    *cursor.borrow_mut() = None;
                }
                "ArrowUp" if !history.is_empty() => {
                    e.prevent_default();
                    let i = cursor
                        .borrow()
                        .map_or(history.len() - 1, |i| i.saturating_sub(1));
                    *cursor.borrow_mut() = Some(i);
                    el.set_value(&history[i]);
                }
                "ArrowDown" => {
                    e.prevent_default();
                    let next = cursor.borrow().map(|i| i + 1);
                    match next {
                        Some(i) if i < history.len() => {
                            *cursor.borrow_mut() = Some(i);
                            el.set_value(&history[i]);
                        }
                        _ => {
                            *cursor.borrow_mut() = None;
                            el.set_value("");
                        }
                    }
                }
                _ => {}
            }
        })
    };
    html! {
        <div class="console">
            <div class="console-title">{ &props.node }</div>
            <div class="console-output" ref={output} data-testid={format!("console-output-{}", props.node)}>
                { for props.lines.iter().map(|l| html! {
                    <div class={classes!("line", l.input.then_some("input"), l.text.starts_with("(error)").then_some("error"), l.text.starts_with("(replscope:").then_some("note"))}>{ &l.text }</div>
                }) }
            </div>
            <div class="console-prompt">
                <span>{ format!("{}:6379>", props.node) }</span>
                <input ref={input} type="text" spellcheck="false" autocomplete="off"
                       aria-label={format!("console of {}", props.node)}
                       data-testid={format!("console-{}", props.node)} {onkeydown} />
            </div>
        </div>
    }
}
