/**
 * Reading openapi.json for the tests: its JSON Schemas compiled with ajv (draft 2020-12, the
 * dialect of OpenAPI 3.1, formats checked), and its named examples as scenarios (see
 * scripts/openapi.ts: the request under a name gets the response under the same name).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { OPENAPI_FILE } from '../../scripts/openapi.ts';

// ajv-formats is CommonJS and sets both module.exports and its `default` to the plugin: under
// NodeNext the default import is module.exports, so the plugin is its `default`.
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: {
    readonly schemas: Record<string, Json>;
    readonly responses: Record<string, Response>;
  };
  readonly security: unknown[];
}

export interface Operation {
  readonly operationId: string;
  /** Who may call it: the `access` of its route (lambdas/api/router.ts). */
  readonly 'x-access'?: string;
  readonly security?: unknown[];
  readonly parameters?: Parameter[];
  readonly requestBody?: { content: Record<string, MediaType> };
  readonly responses: Record<string, Response | { $ref: string }>;
}

export interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly schema: Json;
  readonly examples?: Record<string, { value: unknown }>;
}

export interface MediaType {
  readonly schema: Json;
  readonly example?: unknown;
  readonly examples?: Record<string, { summary?: string; value: unknown; 'x-credential'?: string }>;
}

export interface Response {
  readonly description: string;
  readonly headers?: Record<string, unknown>;
  readonly content?: Record<string, MediaType>;
}

/** The committed document, parsed. */
export const readOpenApiDocument = (): OpenApiDocument =>
  JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every operation, with its method and path template. */
export function operationsOf(
  doc: OpenApiDocument,
): Array<{ method: string; path: string; operation: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
}

/** A response, with a `$ref` to components/responses followed. */
export function resolveResponse(doc: OpenApiDocument, response: Response | { $ref: string }): Response {
  if (!('$ref' in response)) return response;
  const name = response.$ref.replace('#/components/responses/', '');
  const resolved = doc.components.responses[name];
  if (!resolved) throw new Error(`no components/responses/${name}`);
  return resolved;
}

const BASE = 'https://openapi.test/components/schemas/';

/** `#/components/schemas/X` refs rewritten to absolute ids ajv can resolve between separate schemas. */
function absoluteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(absoluteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => [
      key,
      key === '$ref' && typeof child === 'string'
        ? child.replace('#/components/schemas/', BASE)
        : absoluteRefs(child),
    ]),
  );
}

/** ajv (strict, every error, formats) holding every component schema of the document. */
export function schemaValidator(doc: OpenApiDocument): { validate(schema: Json, value: unknown): string[] } {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    ajv.addSchema({ ...(absoluteRefs(schema) as Json), $id: `${BASE}${name}` });
  }
  const compiled = new Map<string, ValidateFunction>();
  return {
    /** The errors of `value` against `schema` (a `$ref` or an inline schema), none when it is valid. */
    validate(schema, value) {
      const key = JSON.stringify(schema);
      let check = compiled.get(key);
      if (!check) {
        check = ajv.compile(absoluteRefs(schema) as Json);
        compiled.set(key, check);
      }
      return check(value)
        ? []
        : (check.errors ?? []).map(
            (error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`,
          );
    },
  };
}

/** One named example: a request and the answer documented for it. */
export interface Scenario {
  readonly operationId: string;
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly secured: boolean;
  /** What the request is sent with: `admin` (an admin key) unless the example's `x-credential` says otherwise. */
  readonly credential: string;
  readonly pathParams: Record<string, string>;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  readonly status: number;
  readonly contentType?: string;
  readonly responseSchema?: Json;
  readonly responseExample?: unknown;
}

/**
 * The document's named examples, each a scenario: those of each operation's own responses (the
 * shared ones of components/responses, 401 and 403, illustrate every operation and are no
 * scenario of any). Throws when a request example's name has no response example of the same
 * name, or one name answers with two statuses.
 */
export function scenariosOf(doc: OpenApiDocument): Scenario[] {
  return operationsOf(doc).flatMap(({ method, path, operation }) => {
    const answers = new Map<string, { status: number; contentType: string; media: MediaType }>();
    for (const [status, raw] of Object.entries(operation.responses)) {
      if ('$ref' in raw) continue;
      for (const [contentType, media] of Object.entries(raw.content ?? {})) {
        for (const name of Object.keys(media.examples ?? {})) {
          if (answers.has(name)) throw new Error(`${operation.operationId}: example ${name} answers twice`);
          answers.set(name, { status: Number(status), contentType, media });
        }
      }
    }
    // 204 and other bodiless answers: a request example whose name no response example has.
    const requestNames = new Set<string>([
      ...Object.keys(operation.requestBody?.content['application/json']?.examples ?? {}),
      ...(operation.parameters ?? []).flatMap((param) => Object.keys(param.examples ?? {})),
    ]);
    for (const name of requestNames) {
      if (answers.has(name)) continue;
      const bodiless = Object.entries(operation.responses).filter(
        ([, raw]) => !resolveResponse(doc, raw).content,
      );
      if (bodiless.length !== 1) {
        throw new Error(
          `${operation.operationId}: request example ${name} has no response example of that name`,
        );
      }
      answers.set(name, { status: Number(bodiless[0]?.[0]), contentType: '', media: { schema: {} } });
    }
    return [...answers].map(([name, answer]): Scenario => {
      const exampleOf = (param: Parameter) => param.examples?.[name]?.value;
      const params = (where: Parameter['in']) =>
        Object.fromEntries(
          (operation.parameters ?? [])
            .filter((param) => param.in === where && exampleOf(param) !== undefined)
            .map((param) => [param.name, String(exampleOf(param))]),
        );
      const body = operation.requestBody?.content['application/json']?.examples?.[name]?.value;
      return {
        operationId: operation.operationId,
        name,
        method: method.toUpperCase(),
        path,
        secured: !(Array.isArray(operation.security) && operation.security.length === 0),
        credential: answer.media.examples?.[name]?.['x-credential'] ?? 'admin',
        pathParams: params('path'),
        query: params('query'),
        headers: params('header'),
        ...(body === undefined ? {} : { body }),
        status: answer.status,
        ...(answer.contentType
          ? {
              contentType: answer.contentType,
              responseSchema: answer.media.schema,
              responseExample: answer.media.examples?.[name]?.value,
            }
          : {}),
      };
    });
  });
}
