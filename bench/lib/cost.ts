/**
 * The cost model: public us-east-1 on-demand prices, per million deliveries of one event to
 * one endpoint, first try successful. Every input is a per-delivery count or duration the
 * benchmark measured; the model only multiplies.
 */

/** USD, us-east-1, on-demand. */
export const PRICES = {
  httpApiPerMillionRequests: 1.0,
  lambdaPerMillionRequests: 0.2,
  /** arm64, per GB-second. */
  lambdaPerGbSecond: 0.0000133334,
  sqsPerMillionRequests: 0.4,
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
} as const;

export const LAMBDA_MEMORY_GB = 256 / 1024;

export interface CostInputs {
  /** API requests per delivery (one event to one endpoint: 1). */
  readonly apiRequests: number;
  /** API function invocations per delivery, and billed milliseconds per invocation. */
  readonly apiInvocations: number;
  readonly apiBilledMs: number;
  /** Delivery function invocations per delivery (one per batch of up to ten), and billed ms per delivery. */
  readonly deliveryInvocations: number;
  readonly deliveryBilledMsPerDelivery: number;
  readonly sqsRequests: number;
  readonly writeUnits: number;
  readonly readUnits: number;
}

export interface CostBreakdown {
  readonly httpApi: number;
  readonly lambdaRequests: number;
  readonly lambdaCompute: number;
  readonly sqs: number;
  readonly dynamoWrites: number;
  readonly dynamoReads: number;
  readonly total: number;
}

/** USD per million deliveries. */
export function costPerMillion(inputs: CostInputs): CostBreakdown {
  const gbSeconds =
    ((inputs.apiInvocations * inputs.apiBilledMs + inputs.deliveryBilledMsPerDelivery) / 1000) *
    LAMBDA_MEMORY_GB;
  const parts = {
    httpApi: inputs.apiRequests * PRICES.httpApiPerMillionRequests,
    lambdaRequests: (inputs.apiInvocations + inputs.deliveryInvocations) * PRICES.lambdaPerMillionRequests,
    lambdaCompute: gbSeconds * PRICES.lambdaPerGbSecond * 1e6,
    sqs: inputs.sqsRequests * PRICES.sqsPerMillionRequests,
    dynamoWrites: inputs.writeUnits * PRICES.dynamoPerMillionWriteUnits,
    dynamoReads: inputs.readUnits * PRICES.dynamoPerMillionReadUnits,
  };
  const total = Object.values(parts).reduce((sum, value) => sum + value, 0);
  return { ...parts, total };
}

/**
 * The share of a vCPU a Lambda function gets at 256 MB: CPU is allocated in proportion to memory,
 * one full vCPU at 1,769 MB. Work that takes `c` ms of CPU on this machine's full core takes
 * about `c / share` ms there.
 */
export const LAMBDA_VCPU_SHARE = 256 / 1769;

/**
 * The inputs with each function's CPU time stretched to {@link LAMBDA_VCPU_SHARE} (its waits for
 * AWS are left as measured): `cpu` is the CPU ms per API invocation and per delivery. A
 * conservative reading, since the CPU charged includes the harness's own.
 */
export function cpuScaledInputs(
  inputs: CostInputs,
  cpu: { readonly apiMsPerInvocation: number; readonly deliveryMsPerDelivery: number },
): CostInputs {
  const stretch = 1 / LAMBDA_VCPU_SHARE - 1;
  return {
    ...inputs,
    apiBilledMs: inputs.apiBilledMs + cpu.apiMsPerInvocation * stretch,
    deliveryBilledMsPerDelivery: inputs.deliveryBilledMsPerDelivery + cpu.deliveryMsPerDelivery * stretch,
  };
}
