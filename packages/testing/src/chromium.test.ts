import { afterEach, describe, expect, it } from 'vitest';
import { type TestBrowser, startChromium } from './chromium.js';

let browser: TestBrowser | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
});

describe('startChromium', () => {
  it('runs a page in Debian’s Chromium, with scripts', async () => {
    browser = await startChromium();
    const page = await browser.newPage();
    await page.setContent('<p id="out"></p><script>out.textContent = 6 * 7</script>');
    expect(await page.textContent('#out')).toBe('42');
  });

  it('fails, naming the way to install it, when the browser is missing', async () => {
    await expect(startChromium({ executablePath: '/nonexistent/chromium' })).rejects.toThrow(
      /cannot start \/nonexistent\/chromium: not found.*scripts\/test-services\.mjs/,
    );
  });
});
