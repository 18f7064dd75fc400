/**
 * `mesh-webhook validate`: the rules of the validating webhook on manifests, for pipelines. Reads multi-document YAML
 * (and the items of v1 Lists), validates each object in its own namespace without a cluster, prints one line per
 * finding and a summary (or JSON), and tells the caller through the exit code whether any error was found.
 */
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../config/load.js';
import type { InjectorConfig } from '../config/types.js';
import { isPlainObject } from '../util/json.js';
import { createValidator, RULES, type Finding, type Severity } from '../validate/index.js';
import { ManifestError } from '../workloads/kubeInject.js';
import { apiGroup, isList } from '../workloads/kinds.js';
import type { ValidateArgs, ValidateOutput } from './args.js';
import { eachManifestFile, readManifestFiles, type ManifestFile } from './manifestFiles.js';
import { kindOfValue } from '../util/kindOfValue.js';

type Obj = Record<string, unknown>;

export interface ManifestValidation {
  /** Every finding, in input order. */
  findings: Finding[];
  /** How many objects were checked (List items counted one by one). */
  objects: number;
}

function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
}

/** One object of a manifest stream and where it is (`document 2`, `document 2, items[1]`). */
export interface ManifestObject {
  object: Obj;
  document: number;
  where: string;
}

/** The Kubernetes objects of a manifest stream; bad YAML or a document that is no object names the document. */
export function readObjects(yamlText: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  const add = (value: unknown, document: number, where: string): void => {
    if (!isPlainObject(value)) {
      throw new ManifestError(document, `${where}: expected a Kubernetes object (a map with apiVersion and kind); got ${kindOfValue(value)}`);
    }
    const { apiVersion, kind } = value;
    if (typeof kind !== 'string' || kind === '' || typeof apiVersion !== 'string' || apiVersion === '') {
      throw new ManifestError(document, `${where}: not a Kubernetes object: apiVersion and kind must be non-empty strings`);
    }
    if (isList(apiVersion, kind)) {
      const { items } = value;
      if (items === undefined || items === null) return;
      if (!Array.isArray(items)) throw new ManifestError(document, `${where} (List): items must be a list; got ${kindOfValue(items)}`);
      items.forEach((item, i) => add(item, document, `${where}, items[${i}]`));
      return;
    }
    out.push({ object: value, document, where });
  };
  parseAllDocuments(yamlText, { prettyErrors: true }).forEach((doc, i) => {
    const number = i + 1;
    const error = doc.errors[0];
    if (error) throw new ManifestError(number, `document ${number}: invalid YAML: ${firstLine(error.message)}`);
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // empty document (a leading or trailing `---`)
    add(value, number, `document ${number}`);
  });
  return out;
}

/**
 * The objects of every `-f` file in order, as {@link readObjects} reads one; with several files, where an object is
 * (and an error in it) starts with its file's name.
 */
export function readManifestObjects(files: readonly ManifestFile[]): ManifestObject[] {
  const named = files.length > 1;
  return eachManifestFile(files, (file) => readObjects(file.text).map((o) => (named ? { ...o, where: `${file.name}: ${o.where}` } : o))).flat();
}

/** Labels of the Namespace objects in the input, by name (what the cluster would know once they are applied). */
function namespaceLabelsOf(objects: readonly ManifestObject[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const { object: o } of objects) {
    if (o.kind !== 'Namespace' || apiGroup(String(o.apiVersion)) !== '') continue;
    const meta = isPlainObject(o.metadata) ? o.metadata : {};
    if (typeof meta.name !== 'string' || meta.name === '') continue;
    const labels: Record<string, string> = {};
    if (isPlainObject(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
    out[meta.name] = labels;
  }
  return out;
}

/**
 * Validate every object of a manifest stream (or the objects read from several) with `config`. Namespace objects in the stream supply the labels of
 * their namespace (over config `namespaceLabels`), as they would in the cluster once applied.
 */
export function validateManifests(input: string | readonly ManifestObject[], config: InjectorConfig): ManifestValidation {
  const objects = typeof input === 'string' ? readObjects(input) : input;
  const fromInput = namespaceLabelsOf(objects);
  const effective = Object.keys(fromInput).length > 0 ? { ...config, namespaceLabels: { ...config.namespaceLabels, ...fromInput } } : config;
  const validator = createValidator(effective);
  const findings: Finding[] = [];
  for (const { object, document, where } of objects) {
    try {
      findings.push(...validator.validate(object));
    } catch (err) {
      // A shape the rules cannot read (the API server's schema validation would have refused it): name the object.
      const meta = isPlainObject(object.metadata) ? object.metadata : {};
      const name = [meta.namespace, meta.name].filter((v) => typeof v === 'string' && v !== '').join('/');
      throw new ManifestError(document, `${where} (${String(object.kind)} "${name}"): cannot validate: ${(err as Error).message}`);
    }
  }
  return { findings, objects: objects.length };
}

/** `<severity> <code> <object> <path>: <message>` lines and the summary. */
export function formatText(result: ManifestValidation): string {
  const count = (s: Severity) => result.findings.filter((f) => f.severity === s).length;
  const lines = result.findings.map((f) => `${f.severity} ${f.code} ${f.object} ${f.path}: ${f.message}`);
  const plural = result.objects === 1 ? 'object' : 'objects';
  lines.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info (${result.objects} ${plural} checked)`);
  return `${lines.join('\n')}\n`;
}

export function formatJson(result: ManifestValidation): string {
  const out = result.findings.map(({ code, severity, object, path, message }) => ({ code, severity, object, path, message }));
  return `${JSON.stringify(out, null, 2)}\n`;
}

export function formatRules(output: ValidateOutput): string {
  if (output === 'json') return `${JSON.stringify(RULES, null, 2)}\n`;
  const width = Math.max(...RULES.map((r) => r.code.length));
  return `${RULES.map((r) => `${r.code.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.title}\n${' '.repeat(width + 2)}fix: ${r.fix}`).join('\n')}\n`;
}

/** Runs the command; returns the exit code (1 when any error finding, else 0). */
export async function runValidate(args: ValidateArgs): Promise<number> {
  if (args.list) {
    process.stdout.write(formatRules(args.output));
    return 0;
  }
  const config = loadConfig(args.config);
  const result = validateManifests(readManifestObjects(await readManifestFiles(args.filenames)), config);
  process.stdout.write(args.output === 'json' ? formatJson(result) : formatText(result));
  return result.findings.some((f) => f.severity === 'error') ? 1 : 0;
}
