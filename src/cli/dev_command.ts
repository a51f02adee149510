export const devCommand = { name: "dev", summary: "x", usage: "x", run: () => Promise.resolve(0) };
