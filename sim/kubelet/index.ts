export { KubeletFleet } from "./fleet.ts";
