#!/usr/bin/env node
// Copies the generated CRDs (crds/*.yaml, written by `npm run crds`) into the chart, which can only read files inside
// its own folder. Run as `npm run chart:crds`; test/chart/crds.test.ts fails while the copies differ.
import {copyFileSync, mkdirSync, readdirSync, rmSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}crds/`;
const target = `${root}charts/kube-mcp-router/files/crds/`;

mkdirSync(target, {recursive: true});
const wanted = readdirSync(source).filter((file) => file.endsWith('.yaml'));
for (const file of readdirSync(target)) {
  if (!wanted.includes(file)) rmSync(`${target}${file}`);
}
for (const file of wanted) {
  copyFileSync(`${source}${file}`, `${target}${file}`);
  process.stdout.write(`Copied crds/${file} to charts/kube-mcp-router/files/crds/\n`);
}
