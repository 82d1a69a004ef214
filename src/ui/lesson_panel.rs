//! The lesson panel: the narration with ◂ Back / Next ▸, then the challenge with its live
//! checklist (exactly what is checked, each line with the engine's words when it does not
//! hold), hints unlocked one at a time, a prediction to answer, the solution on demand, and
//! on success what Redis did and what it cost.

use yew::prelude::*;

use super::lesson::{code_spans, LessonView, Predicting};
use crate::sim::checker::rule_words;

#[derive(Properties, PartialEq)]
pub struct LessonPanelProps {
    pub view: LessonView,
    pub on_next: Callback<()>,
    pub on_back: Callback<()>,
    pub on_hint: Callback<()>,
    pub on_answer: Callback<String>,
    pub on_solution: Callback<()>,
    pub on_try_again: Callback<()>,
    pub on_branch: Callback<usize>,
    pub on_close: Callback<()>,
}

/// Text with `inline code` in backquotes rendered as code.
pub fn rich(text: &str) -> Html {
    html! {
        { for code_spans(text).into_iter().map(|(code, s)| if code {
            html! { <code>{ s }</code> }
        } else {
            html! { { s } }
        }) }
    }
}

fn secs(s: f64) -> String {
    format!("{s:.1} s")
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

#[component]
pub fn LessonPanel(p: &LessonPanelProps) -> Html {
    let v = &p.view;
    let cb = |c: &Callback<()>| {
        let c = c.clone();
        Callback::from(move |_: MouseEvent| c.emit(()))
    };
    let at_challenge = v.step >= v.steps;
    let narration = (!at_challenge).then(|| {
        html! {
            <div class="lesson-step" data-testid="lesson-step">
                <div class="lesson-count">{ format!("{} / {}", v.step + 1, v.steps + 1) }</div>
                <p class="lesson-text" data-testid="lesson-text">{ rich(&v.text) }</p>
                if v.waiting {
                    <p class="lesson-wait" data-testid="lesson-wait">{
                        if v.playing { "Playing until it happens: the lesson stops there." } else { "Press Play ▸ to watch it happen: the lesson stops there." }
                    }</p>
                }
                if let Some(said) = &v.said {
                    <p class="lesson-said" data-testid="lesson-said" role="status">{ rich(said) }</p>
                }
            </div>
        }
    });
    let question = match (&v.predicting, &v.question) {
        (Some(Predicting::Asking(_)), Some((q, choices))) => {
            let answer = p.on_answer.clone();
            let input = NodeRef::default();
            html! {
                <div class="lesson-predict" data-testid="lesson-predict" role="dialog" aria-label="Predict">
                    <strong>{ "Predict · " }</strong>{ rich(q) }
                    <div class="lesson-choices">
                        if choices.is_empty() {
                            <input ref={input.clone()} data-testid="predict-input" inputmode="numeric" aria-label="Your answer" />
                            <button data-testid="predict-submit" onclick={{
                                let (answer, input) = (answer.clone(), input.clone());
                                move |_| if let Some(i) = input.cast::<web_sys::HtmlInputElement>() { answer.emit(i.value()) }
                            }}>{ "Answer" }</button>
                        } else {
                            { for choices.iter().map(|c| {
                                let (answer, c2) = (answer.clone(), c.clone());
                                html! { <button data-testid="predict-choice" onclick={move |_| answer.emit(c2.clone())}>{ rule_words(c) }</button> }
                            }) }
                        }
                        <button class="quiet" data-testid="predict-skip" onclick={{ let a = answer.clone(); move |_| a.emit(String::new()) }}>{ "Skip" }</button>
                    </div>
                </div>
            }
        }
        (
            Some(Predicting::Answered {
                given,
                right,
                engine,
            }),
            _,
        ) if !given.is_empty() => html! {
            <p class={classes!("lesson-graded", if *right { "right" } else { "wrong" })} data-testid="predict-result">
                { if *right { format!("Right: the engine answered {}.", rule_words(engine)) } else { format!("Not this time: you said {}, the engine answered {}.", rule_words(given), rule_words(engine)) } }
            </p>
        },
        _ => Html::default(),
    };
    let challenge = at_challenge.then(|| {
        let met = v.checklist.iter().filter(|i| i.met).count();
        html! {
            <div class="lesson-challenge" data-testid="lesson-challenge">
                <p class="lesson-goal"><strong>{ "Challenge · " }</strong>{ rich(&v.challenge) }</p>
                if !v.playing && v.solved.is_none() {
                    <p class="lesson-paused" data-testid="lesson-paused">{ "Time stands still until you press Play (space). Commands typed meanwhile happen at this very moment." }</p>
                }
                <ul class="lesson-checklist" data-testid="checklist" aria-label={format!("{met} of {} checks hold", v.checklist.len())}>
                    { for v.checklist.iter().map(|i| html! {
                        <li class={classes!(if i.met { "met" } else { "unmet" })} data-testid="check" data-met={i.met.to_string()}>
                            <span class="tick" aria-hidden="true">{ if i.met { "✓" } else { "○" } }</span>
                            <span class="check-text">{ rich(&i.text) }</span>
                            if let (false, Some(note)) = (i.met, &i.note) {
                                <span class="check-note" data-testid="check-note">{ rich(note) }</span>
                            }
                        </li>
                    }) }
                </ul>
            </div>
        }
    });
    let solved = v.solved.map(|(at, seen)| {
        let score = v.score.clone().unwrap_or_default();
        html! {
            <div class={classes!("lesson-solved", seen.then_some("seen"))} data-testid="lesson-solved" role="status">
                <strong>{ if seen { format!("Solution shown (at {}): marked seen, not solved. Try it yourself: Try again.", secs(at)) } else { format!("Solved at {}!", secs(at)) } }</strong>
                <p class="lesson-explain">{ rich(&v.explain) }</p>
                <table class="score" data-testid="score">
                    <tr><th>{ "sent to replicas to sync them" }</th><td>{ bytes(score.resent_bytes) }</td></tr>
                    <tr><th>{ "full syncs" }</th><td>{ score.full_syncs }</td></tr>
                    <tr><th>{ "seconds with writes refused" }</th><td>{ score.refused_write_seconds }</td></tr>
                    <tr><th>{ "acknowledged writes lost" }</th><td>{ score.acked_writes_lost }</td></tr>
                </table>
            </div>
        }
    });
    let incident = v.incident.as_ref().map(|i| {
        html! {
            <div class="lesson-incident" data-testid="lesson-incident">
                <div class="incident-source">{ "From the report: " }<a href={i.url.clone()} target="_blank" rel="noopener">{ &i.source }</a></div>
                <pre class="their-log" title="The operator's log">{ &i.their_log }</pre>
                <pre class="our-log" data-testid="our-log" title="replscope's log, same moment">{
                    v.our_line.clone().unwrap_or_else(|| "(replscope has not logged it yet in this run)".into())
                }</pre>
            </div>
        }
    });
    html! {
        <section class="lesson" data-testid="lesson-panel" aria-label="Lesson">
            <header class="lesson-head">
                <h2 data-testid="lesson-title">{ &v.title }</h2>
                <button class="close" data-testid="lesson-close" title="Leave the lesson (free play)" onclick={cb(&p.on_close)}>{ "×" }</button>
            </header>
            { narration.unwrap_or_default() }
            { question }
            { challenge.unwrap_or_default() }
            if !v.misconceptions.is_empty() {
                <div class="lesson-misconception" data-testid="misconception" role="status">
                    { for v.misconceptions.iter().map(|m| html! { <p>{ rich(m) }</p> }) }
                </div>
            }
            if !v.hints.is_empty() {
                <ol class="hints" data-testid="hints">
                    { for v.hints.iter().map(|h| html! { <li>{ rich(h) }</li> }) }
                </ol>
            }
            { solved.unwrap_or_default() }
            { incident.unwrap_or_default() }
            <div class="lesson-nav">
                <button data-testid="lesson-back" onclick={cb(&p.on_back)} disabled={v.step == 0}
                        title="The previous step, at the moment it began">{ "◂ Back" }</button>
                if !at_challenge {
                    <button data-testid="lesson-next" class="primary" onclick={cb(&p.on_next)}>
                        { if v.waiting { "Play ▸" } else if v.step + 1 == v.steps { "Challenge ▸" } else { "Next ▸" } }
                    </button>
                }
                if at_challenge && !v.exam {
                    <button data-testid="lesson-hint" onclick={cb(&p.on_hint)} disabled={v.hints_left == 0}
                            title="One more hint">{ format!("Hint ({} left)", v.hints_left) }</button>
                    <button data-testid="lesson-solution" onclick={cb(&p.on_solution)}
                            title="Plays the reference solution from 0 s (your attempt is kept below); the lesson is then seen, not solved">{ "Show solution" }</button>
                }
                if at_challenge {
                    <button data-testid="lesson-try-again" onclick={cb(&p.on_try_again)}
                            title="The challenge again from 0 s; this attempt is kept below">{ "Try again" }</button>
                }
            </div>
            if !v.branches.is_empty() {
                <div class="branches" data-testid="branches">
                    <span>{ "earlier: " }</span>
                    { for v.branches.iter().enumerate().map(|(i, b)| {
                        let on = p.on_branch.clone();
                        html! { <button data-testid="branch" onclick={move |_| on.emit(i)}>{ b }</button> }
                    }) }
                </div>
            }
        </section>
    }
}
