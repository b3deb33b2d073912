// Unit tests of the frontend's pure modules (formatting, parameter parsing, lineage layout,
// the polling model), compiled by ts-jest; run by `jlpm test` and `make test`.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/labextension/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }]
  }
};
