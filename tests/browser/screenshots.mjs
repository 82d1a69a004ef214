// The README's screenshots (docs/screenshot.png, docs/screenshot-projector.png,
// docs/screenshot-lesson.png), taken as a
// teacher would set them up, with the mouse: `node tests/browser/screenshots.mjs` after
// `./x build` (or a `trunk build --release`). Not a test: it asserts nothing.
import { join } from 'node:path';
import { serveDir, launch, watchedPage, ROOT } from './harness.mjs';

const site = await serveDir();
const browser = await launch();
const clock = (page) => page.getByTestId('clock').textContent().then(parseFloat);

// 1. A 16 KB backlog wrapped during a cut: the master answers +FULLRESYNC. Paused at that
//    decision (its mark under the time slider), replication events shown in the log.
const page = await watchedPage(browser);
await page.goto(`${site.url}?scenario=backlog-too-small&speed=5`);
await page.getByTestId('topology').waitFor();
await page.getByTestId('log-filter-replication').check();
while ((await page.getByTestId('marker-decision').count()) < 2) await page.waitForTimeout(200);
await page.getByTestId('marker-decision').last().click();
for (let i = 0; i < 3; i++) await page.getByTestId('next-event').click();
await page.screenshot({ path: join(ROOT, 'docs', 'screenshot.png') });

// 2. Projector mode: the chain scenario's tree, writes flowing.
const projector = await watchedPage(browser);
await projector.goto(`${site.url}?scenario=chain&speed=2`);
await projector.getByTestId('projector').click();
await projector.getByTestId('workload').selectOption('10');
while ((await clock(projector)) < 9) await projector.waitForTimeout(200);
await projector.getByTestId('play-pause').click();
await projector.screenshot({ path: join(ROOT, 'docs', 'screenshot-projector.png') });

// 3. A lesson in progress: P5, the link cut by the student for 6 s then healed, the run
//    frozen right before m's decision, asking for a prediction; the checklist half ticked.
const lesson = await watchedPage(browser);
await lesson.goto(`${site.url}?lesson=p5-partial-sync&step=2&speed=2&slow=0`);
await lesson.getByTestId('lesson-challenge').waitFor();
await lesson.getByTestId('play-pause').click();
while ((await clock(lesson)) < 8) await lesson.waitForTimeout(100);
const link = async (action) => {
  await lesson.getByTestId('link-m-r1').locator('.link-label').click();
  await lesson.getByTestId(`link-action-${action}`).click();
};
await link('cut');
const cutAt = await clock(lesson);
while ((await clock(lesson)) < cutAt + 6) await lesson.waitForTimeout(100);
await link('heal');
await lesson.getByTestId('lesson-predict').waitFor();
await lesson.screenshot({ path: join(ROOT, 'docs', 'screenshot-lesson.png') });

for (const p of [page, projector, lesson]) if (p.problems.length) console.error(p.problems);
await browser.close();
await site.close();
