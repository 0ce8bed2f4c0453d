export { hostPort, KubeletFleet } from "./fleet.ts";
