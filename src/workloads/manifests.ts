/**
 * Manifest streams as the CLI reads them: multi-document YAML, the items of v1 Lists, each object with where it is
 * (`document 2, items[1]`, with its file's name when there are several files). Pure: the files are read by the CLI
 * (src/cli/manifestFiles.ts). Also the labels the stream's Namespace objects give their namespaces.
 */
import { parseAllDocuments } from 'yaml';
import { asString, isPlainObject } from '../util/json.js';
import { describeValue } from '../util/describeValue.js';
import { apiGroup, isList } from './kinds.js';
import { ManifestError, type ManifestDocument } from './kubeInject.js';

type Obj = Record<string, unknown>;

/** One `-f` input: the path as given (or `stdin`) and its text. */
export interface ManifestFile {
  name: string;
  text: string;
}

/** One object of a manifest stream and where it is (`document 2`, `document 2, items[1]`). */
export interface ManifestObject {
  object: Obj;
  document: number;
  where: string;
}

function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? message).replace(/:$/, '');
}

/**
 * `use(file)` for each file in order; when there are several, a {@link ManifestError} is raised again with the
 * file's name in front (`b.yaml: document 2: ...`).
 */
export function eachManifestFile<T>(files: readonly ManifestFile[], use: (file: ManifestFile) => T): T[] {
  return files.map((file) => {
    try {
      return use(file);
    } catch (err) {
      if (files.length > 1 && err instanceof ManifestError) throw new ManifestError(err.document, `${file.name}: ${err.message}`);
      throw err;
    }
  });
}

/** The Kubernetes objects of a manifest stream; bad YAML or a document that is no object names the document. */
export function readObjects(yamlText: string): ManifestObject[] {
  return parseAllDocuments(yamlText, { prettyErrors: true }).flatMap((doc, i) => {
    const error = doc.errors[0];
    return documentObjects({ number: i + 1, doc, ...(error ? { error: firstLine(error.message) } : {}) });
  });
}

/**
 * The objects of one document of a stream (none for an empty one; the items of a List): what {@link readObjects}
 * reads from each document, for a stream read one document at a time (the CLI).
 */
export function documentObjects({ number, doc, error }: Pick<ManifestDocument, 'number' | 'doc' | 'error'>): ManifestObject[] {
  const out: ManifestObject[] = [];
  const add = (value: unknown, where: string): void => {
    if (!isPlainObject(value)) {
      throw new ManifestError(number, `${where}: expected a Kubernetes object (a map with apiVersion and kind); got ${describeValue(value)}`);
    }
    const { apiVersion, kind } = value;
    if (typeof kind !== 'string' || kind === '' || typeof apiVersion !== 'string' || apiVersion === '') {
      throw new ManifestError(number, `${where}: not a Kubernetes object: apiVersion and kind must be non-empty strings`);
    }
    if (isList(apiVersion, kind)) {
      const { items } = value;
      if (items === undefined || items === null) return;
      if (!Array.isArray(items)) throw new ManifestError(number, `${where} (List): items must be a list; got ${describeValue(items)}`);
      items.forEach((item, i) => add(item, `${where}, items[${i}]`));
      return;
    }
    out.push({ object: value, document: number, where });
  };
  if (error !== undefined) throw new ManifestError(number, `document ${number}: invalid YAML: ${error}`);
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) return out; // empty document (a leading or trailing `---`)
  add(value, `document ${number}`);
  return out;
}

/**
 * The objects of every file in order, as {@link readObjects} reads one; with several files, where an object is (and
 * an error in it) starts with its file's name.
 */
export function readManifestObjects(files: readonly ManifestFile[]): ManifestObject[] {
  const named = files.length > 1;
  return eachManifestFile(files, (file) => readObjects(file.text).map((o) => (named ? { ...o, where: `${file.name}: ${o.where}` } : o))).flat();
}

/** Labels of the Namespace objects in the stream, by name (what the cluster would know once they are applied). */
export function namespaceLabelsIn(objects: readonly ManifestObject[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const { object } of objects) {
    if (object.kind !== 'Namespace' || apiGroup(asString(object.apiVersion)) !== '') continue;
    const meta = isPlainObject(object.metadata) ? object.metadata : {};
    const name = asString(meta.name);
    if (!name) continue;
    const labels: Record<string, string> = {};
    if (isPlainObject(meta.labels)) for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
    out[name] = labels;
  }
  return out;
}
