// Pasted from a browser console and vendor docs: JavaScript, not JSON.
dataLayer.push({
  event: 'add_to_cart',
  ecommerce: {
    currency: 'EUR',
    value: 19.98,
    items: [{ item_id: 'SKU_1', item_name: 'Trex tshirt', price: 9.99, quantity: 2, }],
  },
});

cact('trigger', 'purchase', {
  id: 'O_12345', type: 'online', status: 'in_progress', payment_method: 'card',
  revenue: 16.00, value: 22.53, shipping_amount: 3.33, tax_amount: 3.20, currency: 'EUR',
  items: [{ id: 'SKU_12345', quantity: 2, discount: 1.99,
            product: { id: '12345', name: 'Trex tshirt', price: 9.99 } }],
});

{
  event: 'transaction',
  ecommerce: {
    transaction_id: 'a2d3d', currency: 'EUR', value: 16, payment_method: 'bancontact',
    items: [{ item_id: 'p-1', item_name: 'Donation', price: 16, quantity: 1 }]
  },
  procedure_id: 'a2d3d', procedure_slug: 'spring-run', procedure_category: 'donation'
}

convead('event', 'update_cart', { items: [ {product_id: '1', qnt: 1, price: 125.15} ] });
