import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);
import{a as s}from"../chunks/chunk-PVWXOA4W.js";import{g as t,p as r,q as o,v as e}from"../chunks/chunk-SI7YRXC3.js";import"../chunks/chunk-DHWYOFOE.js";import"../chunks/chunk-2BIGDJKO.js";var i={"database-url":t(o("a Postgres connection URL")),"encryption-key":t(r()),...e()},n={path:"",sha256:"","issue-number":"","issue-url":""};function d(m){return s(m,"db-backup",i,n)}export{d as run};
//# sourceMappingURL=db-backup.js.map
