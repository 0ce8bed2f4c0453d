export { loadScenarioFile } from "./file.ts";
export { addHpaTarget, generateScenario, nodeIP } from "./generate.ts";
