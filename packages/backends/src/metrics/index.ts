export {
  adjustedEnergy,
  CONSISTENCY_TOLERANCE,
  COUNTER_CROSS_CHECK_TOLERANCE,
  consistencyChecks,
  energyPer,
  meanPower,
  type ReportedComponent,
  type ReportedFigures,
  type ResultWarning,
} from "./energy.js";
export {
  type ComponentSectionInput,
  componentSection,
  type SteadyStateSpan,
} from "./energy-section.js";
export { coefficientOfVariation, percentile, type Summary, summarize } from "./stats.js";
export { TIMESERIES_CSV_HEADER, timeseriesCsv, writeTimeseriesCsv } from "./timeseries-csv.js";
export {
  type MeasurementWarningInputs,
  MIN_SAMPLE_COUNT,
  MIN_WINDOW_S,
  measurementWarnings,
  THERMAL_DRIFT_THRESHOLD_C,
} from "./warnings.js";
