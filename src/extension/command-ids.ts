// Command ids, as contributed in package.json (a unit test checks both agree).

export const COMMANDS = {
  runScenario: 'dmascope.runScenario',
  newScenario: 'dmascope.newScenario',
  showReport: 'dmascope.showReport',
  openExample: 'dmascope.openExample',
  debugScenario: 'dmascope.debugScenario',
  goToEvent: 'dmascope.goToEvent',
  whereFrom: 'dmascope.whereFrom',
  showIovaMap: 'dmascope.showIovaMap',
  showWalk: 'dmascope.showWalk',
  showBounce: 'dmascope.showBounce',
  openCapture: 'dmascope.openCapture',
  captureToScenario: 'dmascope.captureToScenario',
  debugCapture: 'dmascope.debugCapture',
} as const;

export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];
