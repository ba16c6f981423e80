import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/**
 * The page's files, by the name the page asks for, and where each is read from: the page's own
 * script and style beside this package's code, uPlot's from the installed `uplot` package. No
 * other name is served, and nothing is fetched from elsewhere at run time.
 */
function locate(): ReadonlyMap<string, { path: string; type: string }> {
  const require = createRequire(import.meta.url);
  const own = (name: string) => fileURLToPath(new URL(`../assets/${name}`, import.meta.url));
  return new Map([
    ['dashboard.js', { path: own('dashboard.js'), type: 'text/javascript; charset=utf-8' }],
    ['dashboard.css', { path: own('dashboard.css'), type: 'text/css; charset=utf-8' }],
    [
      'uPlot.iife.min.js',
      {
        path: require.resolve('uplot/dist/uPlot.iife.min.js'),
        type: 'text/javascript; charset=utf-8',
      },
    ],
    [
      'uPlot.min.css',
      { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
    ],
  ]);
}

/** The files, read once on first request and kept: four small files. */
export class AssetFiles {
  private files: ReadonlyMap<string, { path: string; type: string }> | undefined = undefined;
  private readonly loaded = new Map<string, Promise<Asset>>();

  get(name: string): Promise<Asset | undefined> {
    const files = (this.files ??= locate());
    const file = files.get(name);
    if (file === undefined) return Promise.resolve(undefined);
    let asset = this.loaded.get(name);
    if (asset === undefined) {
      asset = readFile(file.path).then((body) => ({ type: file.type, body }));
      // A failed read is tried again next time rather than kept.
      asset.catch(() => this.loaded.delete(name));
      this.loaded.set(name, asset);
    }
    return asset;
  }
}
