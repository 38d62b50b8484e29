import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);
import{a as r,d as i,h as o}from"./chunk-SI7YRXC3.js";function g(t,e,n,s){return i(t,e,s,async()=>{throw o(n,t.input,t.log.debug),new r(`${e} is not implemented yet in this version of Shipgate; nothing was changed. Use smoke-health, deploy-api or db-migrate meanwhile.`)})}export{g as a};
//# sourceMappingURL=chunk-PVWXOA4W.js.map
