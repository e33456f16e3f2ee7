import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import ejs, { type TemplateFunction } from 'ejs';
import type { Express } from 'express';

type Data = Record<string, unknown>;

interface View {
  file: string;
  template: TemplateFunction;
  /** What each `include(name)` written in this view resolved to, filled on first use. */
  includes: Map<string, View>;
}

/** Renders a compiled view, given its absolute path, as Express would pass it to an engine. */
export type RenderView = (file: string, data: Data) => string;

/**
 * Compiles every `.ejs` file under `viewsDir` once, so that rendering never touches the file
 * system. EJS's own `include` checks the included file on disk (`existsSync`) on every call, even
 * with its cache on, and EJS 7's compiled functions no longer take an include callback. So each
 * render puts its own `include` into the data: EJS runs templates inside `with (locals)`, where a
 * property of the data shadows EJS's `include`. Paths resolve as EJS resolves them (relative to
 * the including file, `.ejs` added when there is no extension), the data handed to an include is
 * merged over the includer's data as EJS merges it, and `<%= %>` keeps EJS's escaping.
 */
export function compileViews(viewsDir: string): RenderView {
  const root = resolve(viewsDir);
  const views = new Map<string, View>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || extname(entry.name) !== '.ejs') continue;
    const file = join(entry.parentPath, entry.name);
    views.set(file, { file, template: compileView(file), includes: new Map() });
  }

  function included(by: View, name: string): View {
    const known = by.includes.get(name);
    if (known) return known;
    const file = ejs.resolveInclude(name, by.file);
    const view = views.get(file);
    if (!view) {
      throw new Error(`include("${name}"): ${file} is not one of the views compiled from ${root}`);
    }
    by.includes.set(name, view);
    return view;
  }

  function render(view: View, data: Data, includeData?: Data): string {
    const merged = includeData ? { ...data, ...includeData } : data;
    const include = (name: string, nextData?: Data) =>
      render(included(view, name), merged, nextData);
    // A copy without a prototype, as EJS would make it: so EJS need not copy it once more.
    return view.template(Object.assign(Object.create(null) as Data, merged, { include }));
  }

  return (file, data) => {
    const view = views.get(file);
    if (!view) throw new Error(`${file} is not one of the views compiled from ${root}`);
    return render(view, data);
  };
}

/**
 * SPEC P2: without EJS's line tracking around every output (a view that throws at render is then
 * reported without its line), and without a second copy of the locals, which render() already
 * gives as a copy without a prototype (the copy EJS makes against prototype pollution).
 */
const sharedLocals: object = { unsafePrototypeLocals: true }; // not in EJS's typings

function compileView(file: string): TemplateFunction {
  const source = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  try {
    return ejs.compile(source, { filename: file, compileDebug: false, ...sharedLocals });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot compile the view ${file}: ${reason}`, { cause: error });
  }
}

/**
 * The EJS views, all compiled at start-up (a syntax error stops the start). There is no watcher:
 * a changed template takes effect when the process restarts.
 */
export function setUpViews(app: Express, viewsDir: string): void {
  const renderView = compileViews(viewsDir);
  app.engine('ejs', (file, options, done) => {
    let html: string;
    try {
      html = renderView(file, options as Data);
    } catch (error) {
      done(error);
      return;
    }
    done(null, html);
  });
  app.set('views', viewsDir);
  app.set('view engine', 'ejs');
  // Express then finds each view's file once, not on every render, whatever NODE_ENV says (npm
  // start and iisnode may not set it).
  app.set('view cache', true);
}
