/** taskfleet/telemetry: the OpenTelemetry SDK set up for a taskfleet process, in one call. */
export { startTelemetry, type Telemetry, type TelemetryOptions } from './start-telemetry.ts';
