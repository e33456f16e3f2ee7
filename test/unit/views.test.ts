import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ejs from 'ejs';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileViews, setUpViews } from '../../src/middleware/views.ts';

const templates = {
  'pages/account/summary.ejs': [
    `<%- include('../../partials/heading', { level: 1 }) %>`,
    `<p><%= name %></p>`,
    `<% if (locals.showNote) { %><%- include('../../partials/note.ejs') %><% } %>`,
    `<%- include('../../partials/list', { items: ['a', '<b>'] }) %>`,
  ].join('\n'),
  'partials/heading.ejs': `<h<%= level %>><%= title %></h<%= level %>>`,
  'partials/note.ejs': `<aside><%= note %></aside>`,
  'partials/list.ejs': `<ul><% for (const item of items) { %><%- include('item', { item }) %><% } %></ul>`,
  'partials/item.ejs': `<li><%= item %> of <%= title %></li>`,
  'pages/override.ejs': `<%- include('../partials/heading', { level: 2, title: 'Own' }) %>|<%= title %>`,
  'pages/broken-include.ejs': `<%- include('../partials/missing') %>`,
};

const data = { title: 'Account', name: '<script>alert("x")</script>', note: 'N&B' };

let viewsDir: string;

beforeEach(() => {
  viewsDir = mkdtempSync(join(tmpdir(), 'views-'));
  for (const [path, source] of Object.entries(templates)) writeView(path, source);
});

afterEach(() => {
  rmSync(viewsDir, { recursive: true, force: true });
});

function writeView(path: string, source: string): void {
  mkdirSync(dirname(join(viewsDir, path)), { recursive: true });
  writeFileSync(join(viewsDir, path), source);
}

const summary = () => join(viewsDir, 'pages/account/summary.ejs');

describe('compileViews', () => {
  it('renders nested includes with paths relative to the including file, as EJS does', async () => {
    const render = compileViews(viewsDir);
    const html = render(summary(), { ...data, showNote: true });
    expect(html).toBe(await ejs.renderFile(summary(), { ...data, showNote: true }));
    expect(html).toContain('<h1>Account</h1>');
    expect(html).toContain('<aside>N&amp;B</aside>');
    expect(html).toContain('<ul><li>a of Account</li><li>&lt;b&gt; of Account</li></ul>');
  });

  it('escapes <%= %> output exactly as EJS does', () => {
    const html = compileViews(viewsDir)(summary(), data);
    expect(html).toContain('<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>');
    expect(html).toContain(`<p>${ejs.escapeXML(data.name)}</p>`);
  });

  it('hands an include its includer’s data merged with the data passed to it', () => {
    const html = compileViews(viewsDir)(join(viewsDir, 'pages/override.ejs'), data);
    expect(html).toBe('<h2>Own</h2>|Account');
  });

  it('fails at render time, naming the path, when an include is not a known view', () => {
    const render = compileViews(viewsDir);
    expect(() => render(join(viewsDir, 'pages/broken-include.ejs'), data)).toThrow(
      /include\("\.\.\/partials\/missing"\).*partials\/missing\.ejs is not one of the views/,
    );
  });

  it('fails at start-up, naming the file, when a template does not compile', () => {
    writeView('partials/bad.ejs', `<p><%= if (x) { %></p>`);
    expect(() => compileViews(viewsDir)).toThrow(/Cannot compile the view .*partials\/bad\.ejs/);
    writeView('partials/bad.ejs', `<p><%= unclosed </p>`);
    expect(() => compileViews(viewsDir)).toThrow(/Cannot compile the view .*partials\/bad\.ejs/);
  });

  it('renders without the files: nothing is read or checked on disk after start-up', () => {
    const render = compileViews(viewsDir);
    const expected = render(summary(), data);
    rmSync(viewsDir, { recursive: true });
    // The note is included for the first time now that its file is gone.
    expect(render(summary(), data)).toBe(expected);
    expect(render(summary(), { ...data, showNote: true })).toContain('<aside>N&amp;B</aside>');
  });

  it('knows only the views that were there at start-up', () => {
    const render = compileViews(viewsDir);
    writeView('pages/later.ejs', '<p>later</p>');
    expect(() => render(join(viewsDir, 'pages/later.ejs'), data)).toThrow(/not one of the views/);
  });
});

describe('setUpViews', () => {
  function renderWith(app: express.Express, name: string, options: object): Promise<string> {
    return new Promise((resolve, reject) => {
      app.render(name, options, (error: Error | null, html?: string) => {
        if (error) reject(error);
        else resolve(html ?? '');
      });
    });
  }

  it('serves Express renders from the compiled views once each view name has been found', async () => {
    const app = express();
    setUpViews(app, viewsDir);
    expect(app.enabled('view cache')).toBe(true);
    const first = await renderWith(app, 'pages/account/summary', data);
    expect(first).toBe(compileViews(viewsDir)(summary(), data));

    rmSync(viewsDir, { recursive: true });
    const again = await renderWith(app, 'pages/account/summary', { ...data, showNote: true });
    expect(again).toContain('<aside>N&amp;B</aside>');
  });

  it('passes an include error to Express', async () => {
    const app = express();
    setUpViews(app, viewsDir);
    await expect(renderWith(app, 'pages/broken-include', data)).rejects.toThrow(
      /partials\/missing/,
    );
  });
});
