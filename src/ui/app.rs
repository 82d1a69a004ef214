//! The root component: page frame, topology area and status line.

use yew::prelude::*;

/// The whole page. Later views (topology, inspector, backlog ring, consoles) hang off it.
#[component]
pub fn App() -> Html {
    html! {
        <div class="app" data-testid="app">
            <header class="app-header">
                <h1 class="title">{ "replscope" }</h1>
                <p class="subtitle">{ "Redis master–replica replication, simulated in your browser" }</p>
            </header>
            <main class="workspace">
                <section class="topology" data-testid="topology" aria-label="Topology">
                    <svg class="topology-canvas" viewBox="0 0 800 450" role="img"
                         aria-label="Replication topology (no nodes yet)" />
                </section>
            </main>
            <footer class="status-line" data-testid="status" role="status">
                { format!("replscope {} · ready", env!("CARGO_PKG_VERSION")) }
            </footer>
        </div>
    }
}
