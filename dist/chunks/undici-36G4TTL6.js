import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);
import{a}from"./chunk-WXX3HEK7.js";import"./chunk-2BIGDJKO.js";export default a();
