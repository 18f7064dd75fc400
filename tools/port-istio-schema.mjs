#!/usr/bin/env node
/**
 * Regenerates src/config/istioSchema.ts: the field names of Istio's Helm values (istio/istio
 * operator/pkg/apis/values_types.pb.go) and of MeshConfig (istio/api mesh/v1alpha1/config.pb.go), read from the
 * generated Go structs' tags. Only the facts are ported: message names, field names and which field holds which
 * message. Usage: node tools/port-istio-schema.mjs VALUES_PB_GO VALUES_SOURCE MESH_PB_GO MESH_SOURCE > src/config/istioSchema.ts
 */
import { readFileSync } from 'node:fs';

/** Go structs of a generated file: name → fields [{ go type, tag }] (oneof wrappers resolved into their parent). */
function structs(text) {
  const out = new Map();
  const block = /^type (\w+) struct \{\n([\s\S]*?)^\}/gm;
  for (const m of text.matchAll(block)) {
    const fields = [];
    for (const line of m[2].split('\n')) {
      const f = /^\t(\w+)\s+(\S+)\s+`(.*)`/.exec(line);
      if (f) fields.push({ goName: f[1], type: f[2], tag: f[3] });
    }
    out.set(m[1], fields);
  }
  // Oneof: the parent has an interface field; each wrapper struct (one field) implements it.
  const implementers = new Map();
  for (const m of text.matchAll(/^func \(\*(\w+)\) (is\w+)\(\) \{\s*\}/gm)) {
    if (!implementers.has(m[2])) implementers.set(m[2], []);
    implementers.get(m[2]).push(m[1]);
  }
  for (const [name, fields] of out) {
    const expanded = [];
    for (const f of fields) {
      if (f.tag.includes('protobuf_oneof:')) {
        for (const wrapper of implementers.get(f.type) ?? []) expanded.push(...out.get(wrapper));
      } else if (f.tag.includes('protobuf:"')) {
        expanded.push(f);
      }
    }
    out.set(name, expanded);
  }
  return out;
}

/**
 * The keys a field is written with. Helm values: the Go json tag, and the proto JSON name when it differs (Istio reads
 * an IstioOperator's values as proto JSON, which takes both: `gateways.istio-ingressgateway` as Istio's profiles and
 * Kyma's IstioOperator write it, and `istio_ingressgateway`). MeshConfig: the proto JSON name.
 */
function keysOf(tag, style) {
  const proto = /protobuf:"([^"]*)"/.exec(tag)[1].split(',');
  const json = proto.find((p) => p.startsWith('json='))?.split('=')[1];
  if (style === 'helm') {
    const goJson = /json:"([^,"]+)/.exec(tag)[1];
    return json === undefined || json === goJson ? [goJson] : [goJson, json];
  }
  return [json ?? proto.find((p) => p.startsWith('name=')).split('=')[1]];
}

/** Messages reachable from `root`: message → { key: message name | `[]message` | `*` (any value) }. */
function port(text, root, style, external) {
  const all = structs(text);
  const messages = {};
  const queue = [root];
  while (queue.length > 0) {
    const name = queue.shift();
    if (messages[name]) continue;
    const fields = {};
    for (const f of all.get(name)) {
      const single = /^\*(\w+)$/.exec(f.type);
      const list = /^\[\]\*(\w+)$/.exec(f.type);
      const ref = single?.[1] ?? list?.[1];
      let kind = '*';
      if (ref && all.has(ref)) {
        kind = list ? `[]${ref}` : ref;
        queue.push(ref);
      } else if (ref && external.includes(ref)) {
        kind = ref;
      }
      for (const key of keysOf(f.tag, style)) fields[key] = kind;
    }
    messages[name] = fields;
  }
  return messages;
}

const [valuesFile, valuesSource, meshFile, meshSource] = process.argv.slice(2);
const values = port(readFileSync(valuesFile, 'utf8'), 'Values', 'helm', []);
const mesh = port(readFileSync(meshFile, 'utf8'), 'MeshConfig', 'proto', ['ProxyConfig']);

const render = (messages) =>
  Object.entries(messages)
    .map(([name, fields]) => `    ${name}: {\n${Object.entries(fields).map(([k, v]) => `      ${JSON.stringify(k)}: ${JSON.stringify(v)},`).join('\n')}\n    },`)
    .join('\n');

process.stdout.write(`/**
 * The keys Istio knows under \`values\` and \`meshConfig\`, ported as data (field names only) from Istio's generated
 * protobuf types (Apache-2.0, see src/config/NOTICE):
 *   values:     ${valuesSource}
 *   meshConfig: ${meshSource}
 * Each message maps a key to the message it holds (\`[]Name\`: a list of them) or \`*\` (any value: scalars,
 * google.protobuf.Struct/Value, maps, Kubernetes and other external types). \`ProxyConfig\` (meshConfig.defaultConfig)
 * is src/inject/proxyConfig.ts's field table. Regenerate with tools/port-istio-schema.mjs.
 */
import type { IstioSchema } from './istioKeys.js';

export const ISTIO_VALUES_SCHEMA: IstioSchema = {
  root: 'Values',
  messages: {
${render(values)}
  },
};

export const ISTIO_MESH_CONFIG_SCHEMA: IstioSchema = {
  root: 'MeshConfig',
  messages: {
${render(mesh)}
  },
};
`);
