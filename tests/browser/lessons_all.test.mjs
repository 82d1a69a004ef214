// Every lesson of the catalogue is playable end to end in the page at 1280×720: it loads
// from lessons/index.json, opens at its challenge, and its reference solution, played by
// the page's own engine with "Show solution" (predictions skipped), ticks the whole
// checklist. Screenshots: target/screenshots/lesson-all-<name>.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveDir, launch, watchedPage, screenshot, ROOT } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const names = JSON.parse(readFileSync(join(ROOT, 'lessons', 'index.json'), 'utf8'));

for (const name of names) {
  test(`lesson ${name}: its solution solves it in the page`, async () => {
    const page = await watchedPage(browser);
    await page.goto(`${site.url}?lesson=${name}&step=99&speed=100&slow=0`);
    await page.getByTestId('lesson-panel').waitFor({ timeout: 15_000 });
    const sandbox = (await page.getByTestId('lesson-challenge').count()) === 1
      && (await page.getByTestId('check').count()) === 0;
    if (sandbox) {
      // Nothing to solve: two masters and a console each.
      assert.ok((await page.evaluate(() => window.replscope.snapshot().nodes.length)) >= 2);
      assert.deepEqual(page.problems, []);
      return;
    }
    await page.getByTestId('lesson-solution').click();
    const end = Date.now() + 120_000;
    while (Date.now() < end) {
      if (await page.getByTestId('lesson-solved').count()) break;
      if (await page.getByTestId('predict-skip').count()) await page.getByTestId('predict-skip').click();
      await page.waitForTimeout(200);
    }
    const solved = page.getByTestId('lesson-solved');
    assert.equal(await solved.count(), 1, `${name}: not solved in the page: ${JSON.stringify(await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid="check"]')].map((li) => li.textContent)))}`);
    assert.match(await solved.textContent(), /marked seen, not solved/);
    const unmet = await page.locator('[data-testid="check"][data-met="false"]').count();
    assert.equal(unmet, 0);
    await screenshot(page, `lesson-all-${name}`);
    assert.deepEqual(page.problems, []);
  });
}
