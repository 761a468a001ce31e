/**
 * Validates operational events against their published JSON Schemas (the ones
 * docs/operational-events.md lists, from operationalEventJsonSchemas), with ajv, draft 2020-12.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import {
  OPERATIONAL_EVENT_TYPES,
  type OperationalEventType,
  operationalEventJsonSchemas,
} from '../../lambdas/core/operational-events.ts';

// NodeNext: the default import is module.exports, so the plugin is its `default`.
const addFormats = addFormatsModule.default;

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const schemas = operationalEventJsonSchemas();
const validators = new Map<string, ValidateFunction>(
  OPERATIONAL_EVENT_TYPES.map((type) => [type, ajv.compile(schemas[type as OperationalEventType])]),
);

/** The schema errors of `detail` as a `detailType` detail (empty when valid). */
export function schemaErrors(detailType: string, detail: unknown): string[] {
  const validate = validators.get(detailType);
  if (!validate) return [`no published schema for ${detailType}`];
  return validate(detail)
    ? []
    : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}
