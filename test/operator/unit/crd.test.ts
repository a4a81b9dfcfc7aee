/* eslint-disable @typescript-eslint/no-explicit-any -- these tests read rendered manifests as plain JSON */
import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {DEFINITIONS, buildCrd, renderCrdFiles, toStructural} from '../../../operator/api/crd.js';

const root = new URL('../../../', import.meta.url);

describe('CRDs', () => {
  it.each(renderCrdFiles().map((file) => [file.path, file.text]))(
    'checked-in %s equals what the schemas generate (run `npm run crds` after changing operator/api)',
    (path, text) => {
      expect(readFileSync(new URL(path, root), 'utf8')).toBe(text);
    },
  );

  it.each(DEFINITIONS.map((d) => [d.names.kind, d]))('every field of %s has a description', (_kind, definition) => {
    const crd = buildCrd(definition) as any;
    const schema = crd.spec.versions[0].schema.openAPIV3Schema;
    const undescribed: string[] = [];
    // Items of a list of strings are described by the list.
    const walk = (node: any, path: string) => {
      const primitiveItem = path.endsWith('[]') && node.type !== 'object';
      if (path !== '$' && path !== '$.metadata' && !primitiveItem && !node.description) undescribed.push(path);
      for (const [name, child] of Object.entries(node.properties ?? {})) walk(child, `${path}.${name}`);
      if (node.items) walk(node.items, `${path}[]`);
      if (
        node.additionalProperties &&
        typeof node.additionalProperties === 'object' &&
        node.additionalProperties.properties
      ) {
        walk(node.additionalProperties, `${path}.*`);
      }
    };
    walk(schema, '$');
    expect(undescribed).toEqual([]);
  });

  it.each([
    [
      'a string with bounds',
      {type: 'string', minLength: 1, maxLength: 3, description: 'd'},
      {description: 'd', type: 'string', minLength: 1, maxLength: 3},
    ],
    ['a const', {type: 'string', const: 'x'}, {type: 'string', enum: ['x']}],
    ['a positive number', {type: 'number', exclusiveMinimum: 0}, {type: 'number', minimum: 0, exclusiveMinimum: true}],
    [
      'an integer with safe bounds',
      {type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER},
      {type: 'integer'},
    ],
    [
      'a strict object',
      {type: 'object', properties: {a: {type: 'string'}}, required: ['a'], additionalProperties: false},
      {type: 'object', properties: {a: {type: 'string'}}, required: ['a']},
    ],
    [
      'a record',
      {type: 'object', propertyNames: {type: 'string'}, additionalProperties: {type: 'string'}},
      {type: 'object', additionalProperties: {type: 'string'}},
    ],
    [
      'int-or-string',
      {'x-kubernetes-int-or-string': true, type: ['string', 'number']},
      {'x-kubernetes-int-or-string': true},
    ],
    [
      'preserve-unknown-fields',
      {'x-kubernetes-preserve-unknown-fields': true, type: 'object', additionalProperties: {}},
      {type: 'object', 'x-kubernetes-preserve-unknown-fields': true},
    ],
  ])('turns %s into a structural schema', (_name, input, output) => {
    expect(toStructural(input)).toEqual(output);
  });

  it.each([
    ['a union', {anyOf: [{type: 'string'}, {type: 'object'}]}, /anyOf/],
    ['a node without a type', {description: 'x'}, /needs a type/],
  ])('refuses %s, naming the path', (_name, input, message) => {
    expect(() => toStructural({type: 'object', properties: {bad: input}})).toThrow(message);
    expect(() => toStructural({type: 'object', properties: {bad: input}})).toThrow(/\$\.bad/);
  });

  it('declares names, columns and the status subresource', () => {
    const [upstream, router] = DEFINITIONS.map((d) => buildCrd(d) as any);
    expect(upstream.spec.names).toMatchObject({kind: 'McpUpstream', shortNames: ['mcpu'], categories: ['mcp']});
    expect(router.spec.names).toMatchObject({kind: 'McpRouter', shortNames: ['mcpr'], categories: ['mcp']});
    expect(router.spec.versions[0].subresources).toEqual({status: {}});
    const visible = (crd: any) =>
      crd.spec.versions[0].additionalPrinterColumns.filter((c: any) => !c.priority).map((c: any) => c.name);
    expect(visible(router)).toEqual(['Ready', 'Replicas', 'Upstreams', 'URL', 'Age']);
    expect(visible(upstream)).toEqual(['Transport', 'Prefix', 'Age']);
  });
});
