import {z} from 'zod';

/**
 * Schemas shared by both kinds of `mcprouter.dev/v1alpha1`: env vars and headers whose values may come from a Secret,
 * label selectors and status conditions. Each follows the core Kubernetes type of the same name (a subset of it), so
 * a manifest reads the way a Pod's does.
 */

/** A CEL validation rule as it appears in `x-kubernetes-validations` of a CRD schema. */
export interface CelRule {
  rule: string;
  message: string;
  /** JSON path, relative to the schema that carries the rule, that an error is reported on (e.g. `.url`). */
  fieldPath?: string;
  /** Machine-readable reason: FieldValueInvalid (default), FieldValueRequired, FieldValueForbidden, ... */
  reason?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueDuplicate';
}

/**
 * Attaches CEL rules to an object schema: they go into the generated CRD (`x-kubernetes-validations`, enforced by the
 * API server) and `check` enforces the same on the operator's side, for objects that reached the API server before
 * the CRD had the rule. `check` returns the messages of the rules that fail.
 */
export function withCel<T extends z.ZodObject>(
  schema: T,
  rules: CelRule[],
  check: (value: z.infer<T>) => {message: string; path?: string[]}[],
): T {
  return schema
    .superRefine((value, ctx) => {
      for (const problem of check(value as z.infer<T>)) {
        ctx.addIssue({code: 'custom', message: problem.message, path: problem.path ?? []});
      }
    })
    .meta({'x-kubernetes-validations': rules}) as unknown as T;
}

/** The fields of `T` with their router defaults removed: each optional, as a custom resource leaves it unset. */
export type WithoutDefaults<T extends z.core.$ZodShape> = {
  [K in keyof T]: z.ZodOptional<
    T[K] extends z.ZodDefault<infer Inner> ? Inner : T[K] extends z.ZodOptional<infer Inner> ? Inner : T[K]
  >;
};

/**
 * A router config schema as a custom resource's field: the same fields, bounds and descriptions, every field
 * optional and without its default (a CRD default would be written into every stored object, and the router applies
 * its own), the default named in the description instead (`Router default: 3.`). `omit` leaves fields out (a map the
 * CRD spells as a list, say). The router's schema stays the one place of the defaults.
 */
export function withoutDefaults<T extends z.core.$ZodShape, O extends keyof T = never>(
  schema: z.ZodObject<T>,
  omit: readonly O[] = [],
): z.ZodObject<Omit<WithoutDefaults<T>, O>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape) as [string, z.ZodType][]) {
    if ((omit as readonly string[]).includes(key)) continue;
    let inner = field;
    let defaultValue: unknown;
    if (field instanceof z.ZodDefault) {
      inner = field.unwrap() as z.ZodType;
      defaultValue = field.def.defaultValue;
    } else if (field instanceof z.ZodOptional) {
      inner = field.unwrap() as z.ZodType;
    }
    const named = defaultValue !== undefined && !(Array.isArray(defaultValue) && defaultValue.length === 0);
    const description = [field.description, named && `Router default: ${defaultValue}.`].filter(Boolean).join(' ');
    shape[key] = inner.optional().describe(description);
  }
  return z.object(shape).describe(schema.description ?? '') as unknown as z.ZodObject<Omit<WithoutDefaults<T>, O>>;
}

/** Names of env vars: what the router's `${VAR}` interpolation and POSIX shells accept. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** HTTP header names (RFC 9110 section 5.1, a token). */
export const HEADER_NAME_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const KeySelectorShape = {
  name: z.string().min(1).max(253).describe('Name of the object in the namespace of the McpUpstream.'),
  key: z.string().min(1).max(253).describe('The key whose value is used.'),
  optional: z.boolean().optional().describe('When true the router starts even if the object or key is missing.'),
};

export const SecretKeySelectorSchema = z
  .object(KeySelectorShape)
  .describe('Selects a key of a Secret. The operator never reads it: the router pod gets it as an env var.');

export const ConfigMapKeySelectorSchema = z
  .object(KeySelectorShape)
  .describe('Selects a key of a ConfigMap. The router pod gets it as an env var.');

export const ValueSourceSchema = withCel(
  z
    .object({
      secretKeyRef: SecretKeySelectorSchema.optional(),
      configMapKeyRef: ConfigMapKeySelectorSchema.optional(),
    })
    .describe(
      'Where the value comes from. It becomes an env var of the router container (valueFrom), so the value is ' +
        'resolved by the kubelet and never copied into the router ConfigMap.',
    ),
  [
    {
      rule: 'has(self.secretKeyRef) != has(self.configMapKeyRef)',
      message: 'set exactly one of secretKeyRef or configMapKeyRef',
    },
  ],
  (v) =>
    (v.secretKeyRef === undefined) === (v.configMapKeyRef === undefined)
      ? [{message: 'set exactly one of secretKeyRef or configMapKeyRef'}]
      : [],
);

const valueRules: CelRule[] = [
  {rule: 'has(self.value) != has(self.valueFrom)', message: 'set exactly one of value or valueFrom'},
];
const valueCheck = (v: {value?: string | undefined; valueFrom?: unknown}) =>
  (v.value === undefined) === (v.valueFrom === undefined) ? [{message: 'set exactly one of value or valueFrom'}] : [];

export const EnvVarSchema = withCel(
  z
    .object({
      name: z
        .string()
        .max(128)
        .regex(ENV_NAME_PATTERN, 'must match ^[A-Za-z_][A-Za-z0-9_]*$')
        .describe('Name of the environment variable of the stdio process.'),
      value: z
        .string()
        .max(32768)
        .optional()
        .describe('Literal value, passed as it is: `$` and `${VAR}` in it are not expanded.'),
      valueFrom: ValueSourceSchema.optional(),
    })
    .describe('An environment variable of the stdio process, the same shape as a container env var.'),
  valueRules,
  valueCheck,
);

export const HeaderSchema = withCel(
  z
    .object({
      name: z
        .string()
        .max(256)
        .regex(HEADER_NAME_PATTERN, 'must be an HTTP header name')
        .describe('HTTP header name, e.g. Authorization.'),
      value: z
        .string()
        .max(8192)
        .optional()
        .describe('Literal value, sent as it is: `$` and `${VAR}` in it are not expanded.'),
      valueFrom: ValueSourceSchema.optional(),
    })
    .describe('An HTTP header sent with every request to the upstream.'),
  valueRules,
  valueCheck,
);

export const LabelSelectorRequirementSchema = z
  .object({
    key: z.string().min(1).max(317).describe('The label key the selector applies to.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('How the key relates to the values.'),
    values: z
      .array(z.string().max(63))
      .max(64)
      .optional()
      .describe('For In and NotIn, the values (non-empty); for Exists and DoesNotExist, empty.'),
  })
  .describe('A label selector requirement (metav1.LabelSelectorRequirement).');

export const LabelSelectorSchema = z
  .object({
    matchLabels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Labels an object must have, all of them, with these values.'),
    matchExpressions: z
      .array(LabelSelectorRequirementSchema)
      .max(32)
      .optional()
      .describe('Requirements an object must meet, all of them.'),
  })
  .describe('A label query (metav1.LabelSelector). An empty selector ({}) matches everything.');

export const ConditionSchema = z
  .object({
    type: z.string().max(316).describe('Type of the condition, in CamelCase: Ready, Progressing, Degraded, Accepted.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition.'),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('metadata.generation that the condition was set from.'),
    lastTransitionTime: z.string().describe('When the status last changed (RFC 3339).'),
    reason: z.string().max(1024).describe('Why, in CamelCase, for machines.'),
    message: z.string().max(32768).describe('Why, for people.'),
  })
  .describe('A status condition (metav1.Condition).');

export type EnvVar = z.infer<typeof EnvVarSchema>;
export type Header = z.infer<typeof HeaderSchema>;
export type ValueSource = z.infer<typeof ValueSourceSchema>;
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;
export type Condition = z.infer<typeof ConditionSchema>;

/** The `observedGeneration` and `conditions` fields every status of this API has (Kubernetes API conventions). */
export function statusBaseShape(conditionsDescription: string) {
  return {
    observedGeneration: z.number().int().optional().describe('metadata.generation the status was computed from.'),
    conditions: z
      .array(ConditionSchema)
      .max(16)
      .optional()
      .describe(conditionsDescription)
      .meta({'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type']}),
  };
}
