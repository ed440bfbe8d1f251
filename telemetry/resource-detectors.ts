import {
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  type ResourceDetector,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import { redactText } from '../shared/redact.ts';

/**
 * The SDK's resource detectors, with the process detector's command line redacted: it records
 * `process.command_args` on every span and metric, and `taskfleet worker --redis rediss://u:pw@...`
 * would otherwise export the password. OTEL_NODE_RESOURCE_DETECTORS still chooses among them.
 */
const redactedProcessDetector: ResourceDetector = {
  detect(config) {
    const { attributes = {} } = processDetector.detect(config);
    const args = attributes['process.command_args'];
    if (Array.isArray(args)) {
      attributes['process.command_args'] = args.map((arg) =>
        typeof arg === 'string' ? redactText(arg) : arg,
      );
    }
    const command = attributes['process.command'];
    if (typeof command === 'string') attributes['process.command'] = redactText(command);
    return { attributes };
  },
};

/** The same detectors, in the same order, the SDK uses by default (sdk-node 0.301). */
const BY_NAME: ReadonlyMap<string, ResourceDetector> = new Map([
  ['serviceinstance', serviceInstanceIdDetector],
  ['process', redactedProcessDetector],
  ['host', hostDetector],
  ['os', osDetector],
  ['env', envDetector],
]);

/** The detectors to give NodeSDK: all of them, or those OTEL_NODE_RESOURCE_DETECTORS names. */
export function resourceDetectors(setting: string | undefined): ResourceDetector[] {
  const names = (setting ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0 || names.includes('all')) return [...BY_NAME.values()];
  if (names.includes('none')) return [];
  return names.flatMap((name) => BY_NAME.get(name) ?? []);
}
