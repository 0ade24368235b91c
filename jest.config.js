// Unit tests of the lab extension's DOM-free modules: ts-jest in a jsdom environment.
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/labextension/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    // tsconfig.json, plus the test globals and CommonJS modules for Jest.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: { module: 'commonjs', types: ['jest', 'node'] } }]
  }
};
