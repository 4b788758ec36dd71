/**
 * Implementation, not API: public only so that other Tidewire packages can use it. It may change in
 * any release and is left out of the published Javadoc.
 */
package dev.tidewire.client.internal;
